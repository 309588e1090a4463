//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/rules"
)

const (
	idRuleID    = "5d0c6a3e-1f0b-4c2a-9d7e-0a1b2c3d4e01"
	blockRuleID = "5d0c6a3e-1f0b-4c2a-9d7e-0a1b2c3d4e02"
)

// ruleFile is a detection rule in the detection-rules TOML format.
func ruleFile(id, name, severity string, risk int, query string) string {
	return fmt.Sprintf(`[metadata]
creation_date = "2026/11/01"

[rule]
description = "e2e rule"
language = "eql"
name = %q
risk_score = %d
rule_id = %q
severity = %q
type = "eql"
query = '''
%s
'''

[[rule.threat]]
framework = "MITRE ATT&CK"

[rule.threat.tactic]
id = "TA0007"
name = "Discovery"
reference = "https://attack.mitre.org/tactics/TA0007/"

[[rule.threat.technique]]
id = "T1033"
name = "System Owner/User Discovery"
reference = "https://attack.mitre.org/techniques/T1033/"
`, name, risk, id, severity, query)
}

// rulesPolicy blocks what the bound rule matches and alerts on interactive
// execs, as the default policy does.
var rulesPolicy = `process:
  selectors:
    - name: all
      operation: [exec, containerStart]
    - name: interactive
      operation: [exec, containerStart]
      sessionLeaderInteractive: true
    - name: marker-rule
      detectionRule: [` + blockRuleID + `]
  responses:
    - match: [all]
      actions: [log]
    - match: [interactive]
      actions: [alert]
    - match: [marker-rule]
      actions: [alert, block]
`

// TestRulesAtTheRuntime: rules of rules_dir alert with their own fields, a
// rule bound to a block response refuses the exec, the seed rule still gives
// one alert per interactive exec, and both forms of the seed query match the
// harness's events as they would in Elasticsearch.
func TestRulesAtTheRuntime(t *testing.T) {
	pe := newPolicyEnv(t, "open", rulesPolicy)
	rulesDir := filepath.Join(pe.dir, "rules")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"id.toml":     ruleFile(idRuleID, "User Discovery in a Container", "low", 21, `process where event.type == "start" and process.name == "id" and container.id like "?*"`),
		"marker.toml": ruleFile(blockRuleID, "Forbidden Marker Written", "high", 73, `process where process.args : "*forbidden-marker*"`),
		"file.toml":   ruleFile("5d0c6a3e-1f0b-4c2a-9d7e-0a1b2c3d4e03", "File Rule", "low", 21, `file where file.path : "/etc/*"`),
	} {
		if err := os.WriteFile(filepath.Join(rulesDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf("event_log = %q\nstate_dir = %q\nfail_mode = \"open\"\npolicy = %q\nrules_dir = %q\n\n[runtimes]\nrunc = %q\n",
		pe.eventLog, pe.stateDir, pe.policyPath, rulesDir, realRunc)
	replaceFile(t, pe.configPath, cfg)
	_, ctr := pe.startPod("web", "shop", "app")

	// A rule of the directory: its own alert, with its fields.
	mark := pe.mark()
	if out, err := pe.node.Exec(ctr, "id"); err != nil || !strings.Contains(out, "uid=0") {
		t.Fatalf("crictl exec id: %v\n%s", err, out)
	}
	docs := pe.since(mark)
	ev := filter(docs, "event", "exec", ctr)
	if len(ev) != 1 {
		t.Fatalf("%d exec events for id, want 1:\n%v", len(ev), docs)
	}
	check(t, "id exec", ev[0], []expectation{
		{"event.type", []string{"start"}},
		{"execguard.matched_rules", []string{"User Discovery in a Container"}},
	})
	if errMsg := ev[0].str("error.message"); errMsg != "" {
		t.Errorf("id exec carries error %q", errMsg)
	}
	alerts := filter(docs, "alert", "exec", ctr)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts for id, want 1 (the rule's):\n%v", len(alerts), docs)
	}
	check(t, "id rule alert", alerts[0], []expectation{
		{"rule.id", idRuleID},
		{"rule.name", "User Discovery in a Container"},
		{"kibana.alert.severity", "low"},
		{"kibana.alert.risk_score", 21.0},
		{"kibana.alert.rule.rule_id", idRuleID},
		{"threat.tactic.id", []string{"TA0007"}},
		{"threat.technique.id", []string{"T1033"}},
		{"process.args", []string{"id"}},
	})

	// A rule bound to a block response: the exec is refused.
	mark = pe.mark()
	out, err := pe.node.Exec(ctr, "sh", "-c", "echo forbidden-marker > /tmp/rule-marker")
	if err == nil || !strings.Contains(out+err.Error(), "blocked by policy (selector marker-rule)") {
		t.Fatalf("the exec matched by the bound rule was not refused: %v\n%s", err, out)
	}
	docs = pe.since(mark)
	ev = filter(docs, "event", "exec", ctr)
	if len(ev) != 1 {
		t.Fatalf("%d exec events for the refused exec, want 1:\n%v", len(ev), docs)
	}
	check(t, "refused exec", ev[0], []expectation{
		{"event.type", []string{"denied"}},
		{"event.outcome", "failure"},
		{"cloud_defend.matched_selectors", []string{"all", "marker-rule"}},
	})
	var ruleIDs []string
	for _, a := range filter(docs, "alert", "exec", ctr) {
		ruleIDs = append(ruleIDs, a.str("rule.id"))
	}
	if want := fmt.Sprint([]string{detect.PolicyAlertRuleID, blockRuleID}); fmt.Sprint(ruleIDs) != want {
		t.Errorf("alerts of the refused exec: rule ids %v, want %s", ruleIDs, want)
	}
	if probe, err := pe.node.Exec(ctr, "sh", "-c", "test -e /tmp/rule-marker && echo present || echo absent"); err != nil || strings.TrimSpace(probe) != "absent" {
		t.Errorf("marker check: %v %q", err, probe)
	}

	// An interactive shell: the seed rule's one alert, both forms matched.
	mark = pe.mark()
	if out, err := pe.node.ExecTTY(ctr, "sh", "-c", "echo tty-ok"); err != nil || !strings.Contains(out, "tty-ok") {
		t.Fatalf("crictl exec -it: %v\n%s", err, out)
	}
	docs = pe.since(mark)
	alerts = filter(docs, "alert", "exec", ctr)
	if len(alerts) != 1 || alerts[0].str("rule.id") != detect.RuleID {
		t.Fatalf("interactive exec: want the seed rule's one alert, got:\n%v", alerts)
	}
	set, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	ev = filter(docs, "event", "exec", ctr)
	check(t, "interactive exec", ev[0], []expectation{
		{"execguard.matched_rules", []string{set.Rules[0].Name, set.Rules[1].Name}},
	})

	// The two seed queries over every exec event of this node, as loaded
	// from the built-in rule files.
	all := pe.events()
	var got []string
	for _, d := range filter(all, "event", "exec", ctr) {
		var m []string
		for _, r := range set.Match(map[string]any(d)) {
			m = append(m, filepath.Base(r.File))
		}
		got = append(got, fmt.Sprintf("%s=%v", strings.Join(d.strs("process.args"), " "), m))
	}
	want := []string{
		"id=[]",
		"sh -c echo forbidden-marker > /tmp/rule-marker=[]", // refused: event.type denied
		"sh -c test -e /tmp/rule-marker && echo present || echo absent=[interactive_exec_2026.toml]",
		"sh -c echo tty-ok=[interactive_exec_2023.toml interactive_exec_2026.toml]",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("seed queries over the exec events:\n got %v\nwant %v", got, want)
	}

	// execguard rules test over the node's event log says the same.
	bin := filepath.Join(pe.dir, "bin", "execguard")
	cmdOut, err := exec.Command(bin, "rules", "test", "--builtin", rulesDir, pe.eventLog).CombinedOutput()
	if err != nil {
		t.Fatalf("execguard rules test: %v\n%s", err, cmdOut)
	}
	for _, w := range []string{
		"5 rules run, 1 not applicable",
		"not applicable: " + rulesDir + "/file.toml",
		`"id": User Discovery in a Container [` + idRuleID + `] (alert)`,
		`"sh -c echo tty-ok": Interactive Exec Command Launched Against A Running Container`,
	} {
		if !strings.Contains(string(cmdOut), w) {
			t.Errorf("rules test output lacks %q:\n%s", w, cmdOut)
		}
	}
}
