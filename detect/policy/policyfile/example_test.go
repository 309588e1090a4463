package policyfile

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/policy"
)

// TestNoShellsExample: the "no shells" example of docs/policy.md is valid,
// draws no note, refuses every kind of shell outside the maintenance window
// and lets kubectl cp's tar through.
func TestNoShellsExample(t *testing.T) {
	const file = "../../../docs/examples/no-shells.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```yaml\n"+string(data)+"```") {
		t.Errorf("docs/policy.md does not show %s as it is", file)
	}
	p, err := Parse(file, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Notes()) != 0 {
		t.Errorf("notes: %v", p.Notes())
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	saturdayNight := time.Date(2026, 3, 14, 23, 0, 0, 0, berlin)
	monday := time.Date(2026, 3, 16, 12, 0, 0, 0, berlin)
	call := func(op detect.Operation, ns string, terminal bool, stdin detect.Stdin, args ...string) detect.Facts {
		return detect.Facts{
			Operation: op, Stdin: stdin,
			Process:   detect.Process{Known: true, Terminal: terminal, Args: args},
			Container: detect.Container{ID: "c0ffee", Name: "app", PodName: "web-1", PodNamespace: ns},
		}
	}
	tests := []struct {
		name   string
		facts  detect.Facts
		at     time.Time
		action detect.Action
		reason string
	}{
		{"kubectl exec -it", call(detect.OpExec, "shop", true, detect.StdinNone, "sh"), monday, detect.ActionBlock,
			`execguard: interactive exec into container "app" of pod shop/web-1 blocked by policy (selector terminalExecs)`},
		{"kubectl exec -i sh", call(detect.OpExec, "shop", false, detect.StdinAttached, "sh"), monday, detect.ActionBlock,
			`execguard: shell with attached stdin in container "app" of pod shop/web-1 blocked by policy (selector stdinShells)`},
		{"kubectl run -it", call(detect.OpContainerStart, "shop", true, detect.StdinAttached, "sh"), monday, detect.ActionBlock,
			`execguard: interactive container "app" of pod shop/web-1 blocked by policy (selector terminalContainers)`},
		{"kubectl debug -it with python3", call(detect.OpContainerStart, "shop", true, detect.StdinAttached, "python3"), monday, detect.ActionBlock, ""},
		{"kubectl run -i -- sh, then attach", call(detect.OpContainerStart, "shop", false, detect.StdinAttached, "sh"), monday, detect.ActionBlock,
			`execguard: shell with attached stdin in container "app" of pod shop/web-1 blocked by policy (selector stdinShells)`},
		{"kubectl cp", call(detect.OpExec, "shop", false, detect.StdinAttached, "tar", "xmf", "-", "-C", "/data"), monday, detect.ActionLog, ""},
		{"kubectl exec id", call(detect.OpExec, "shop", false, detect.StdinNone, "id"), monday, detect.ActionLog, ""},
		{"a probe sh -c", call(detect.OpExec, "shop", false, detect.StdinNone, "sh", "-c", "pg_isready"), monday, detect.ActionLog, ""},
		{"ops, in the window", call(detect.OpExec, "ops-db", false, detect.StdinAttached, "sh"), saturdayNight, detect.ActionLog, ""},
		{"ops, outside the window", call(detect.OpExec, "ops-db", true, detect.StdinNone, "bash"), monday, detect.ActionBlock, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := policy.Decision(tt.facts, p.Evaluate(tt.facts, tt.at), p.Revision())
			if d.Action != tt.action || (tt.reason != "" && d.Reason != tt.reason) {
				t.Errorf("action %s reason %q, want %s %q", d.Action, d.Reason, tt.action, tt.reason)
			}
		})
	}
}
