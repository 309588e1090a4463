package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/detect"
)

// writeEvents writes what the wrapper records for a few calls.
func writeEvents(t *testing.T) string {
	t.Helper()
	var log []byte
	for _, c := range []struct {
		args []string
		tty  bool
		act  detect.Action
	}{
		{[]string{"sh"}, true, detect.ActionAlert},
		{[]string{"nc", "-l", "-p", "4444"}, false, detect.ActionAlert},
		{[]string{"id"}, false, detect.ActionAlert},
	} {
		f := detect.Facts{
			Operation: detect.OpExec, Subcommand: "exec",
			Process:   detect.Process{Args: c.args, Terminal: c.tty, Known: true},
			Container: detect.Container{ID: "3f1c0ffee0ddba11", Name: "app"},
		}
		p := detect.Policy{Interactive: c.act, FailMode: detect.FailOpen}
		buf, err := detect.Encode(detect.Record{Facts: f, Decision: detect.Decide(f, p), Policy: p, Time: time.Unix(1, 0)})
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, buf...)
	}
	path := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(path, log, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRulesTest(t *testing.T) {
	events := writeEvents(t)
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "bad.toml"), []byte("[rule]\nrule_id = \"x\"\nname = \"n\"\nseverity = \"low\"\nrisk_score = 1\nlanguage = \"eql\"\nquery = '''\nprocess where a = 1\n'''\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notJSON := filepath.Join(t.TempDir(), "bad.ndjson")
	os.WriteFile(notJSON, []byte("{\"event\":{\"kind\":\"event\"}}\nnot json\n"), 0o644)
	tests := []struct {
		name    string
		args    []string
		code    int
		want    []string
		wantNot []string
		wantErr string
	}{
		{"directory", []string{"rules", "test", "testdata/rules", events}, 0, []string{
			"1 rule runs, 1 not applicable",
			"not applicable: testdata/rules/file_writes.toml (Cron File Written in a Container, 6e5b0a4e-0d1f-4b8e-9f64-2a3c9e7d1b02): reads file events",
			`line 3: exec in app "nc -l -p 4444": Netcat Started in a Container [9a1d1c52-3c1e-4a57-8a5e-1c0e5d1b7a01] (alert)`,
			"1 of 3 events matched",
		}, []string{"line 1:", "line 5:"}, ""},
		{"with the built-in rules", []string{"rules", "test", "--builtin", "testdata/rules", events}, 0, []string{
			"4 rules run",
			`line 1: exec in app "sh": Interactive Exec Command Launched Against A Running Container [420e5bb4-93bf-40a3-8f4a-4cc1af90eca1] (seed rule: alert per policy); Exec Into Container Detected via Defend for Containers [420e5bb4-93bf-40a3-8f4a-4cc1af90eca1] (seed rule: alert per policy)`,
			"2 of 3 events matched",
		}, nil, ""},
		// Elastic's rules as published: a sequence with maxspan is not
		// applicable, none is invalid.
		{"Elastic's cloud_defend rules", []string{"rules", "test", "../../detect/rules/testdata/cloud_defend", events}, 0, []string{
			"4 rules run, 1 not applicable",
			"not applicable: ../../detect/rules/testdata/cloud_defend/execution_payload_downloaded_and_piped_to_shell.toml (Payload Execution via Shell Pipe Detected by Defend for Containers, a750bbcc-863f-41ef-9924-fd8224e23694): a sequence query over several events",
			`line 1: exec in app "sh": Exec Into Container Detected via Defend for Containers [420e5bb4-93bf-40a3-8f4a-4cc1af90eca1] (seed rule: alert per policy)`,
			`line 3: exec in app "nc -l -p 4444": Suspicious Network Tool Launch Detected via Defend for Containers [1a289854-5b78-49fe-9440-8a8096b1ab50] (alert)`,
			"2 of 3 events matched",
		}, []string{"error:", "line 5:"}, ""},
		{"invalid rule file", []string{"rules", "test", broken, events}, 1, []string{
			"error: " + broken + "/bad.toml:8:17: query: '=' is not an operator",
		}, nil, "some rule files are invalid"},
		{"not JSON", []string{"rules", "test", "testdata/rules", notJSON}, 1, nil, nil, "line 2: not a JSON object"},
		{"missing events", []string{"rules", "test", "testdata/rules", "nope.ndjson"}, 1, nil, nil, "no such file"},
		{"one argument", []string{"rules", "test", "testdata/rules"}, 2, nil, nil, "a rules directory and an NDJSON events file"},
		{"unknown command", []string{"rules", "check"}, 2, nil, nil, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q:\n%s", w, out)
				}
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, errOut)
			}
		})
	}
}
