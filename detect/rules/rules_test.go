package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/detect"
)

func ruleTOML(id, name, query string) string {
	return fmt.Sprintf(`[metadata]
creation_date = "2026/01/01"

[rule]
rule_id = %q
name = %q
description = "test rule"
severity = "medium"
risk_score = 47
language = "eql"
type = "eql"
query = '''
%s
'''

[[rule.threat]]
framework = "MITRE ATT&CK"
[rule.threat.tactic]
id = "TA0002"
name = "Execution"
reference = "https://attack.mitre.org/tactics/TA0002/"
[[rule.threat.technique]]
id = "T1059"
name = "Command and Scripting Interpreter"
reference = "https://attack.mitre.org/techniques/T1059/"
`, id, name, query)
}

// event encodes the facts of one call the way the wrapper records it.
func event(t testing.TB, op detect.Operation, tty bool, args ...string) map[string]any {
	t.Helper()
	f := detect.Facts{
		Operation: op,
		Process:   detect.Process{Args: args, Cwd: "/", Terminal: tty, Known: true},
		Container: detect.Container{ID: "3f1c0ffee0ddba11", Name: "app", Runtime: "runc", PodName: "web", PodNamespace: "shop"},
		Caller:    detect.Caller{PID: 7, Name: "containerd-shim", Engine: "containerd-shim"},
	}
	doc, err := detect.EventDocument(detect.Record{Facts: f, Host: detect.Host{Name: "node-1"}, Time: time.Unix(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// stdinEvent is event for a call without a terminal and with the given stdin.
func stdinEvent(t testing.TB, op detect.Operation, stdin detect.Stdin, args ...string) map[string]any {
	t.Helper()
	f := stdinCall(op, stdin, args...)
	doc, err := detect.EventDocument(detect.Record{Facts: f, Host: detect.Host{Name: "node-1"}, Time: time.Unix(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func stdinCall(op detect.Operation, stdin detect.Stdin, args ...string) detect.Facts {
	return detect.Facts{
		Operation: op,
		Process:   detect.Process{Args: args, Cwd: "/", Known: true},
		Stdin:     stdin, StdinSource: "pipe",
		Container: detect.Container{ID: "3f1c0ffee0ddba11", Name: "app", Runtime: "runc", PodName: "web", PodNamespace: "shop"},
		Caller:    detect.Caller{PID: 7, Name: "containerd-shim", Engine: "containerd-shim"},
	}
}

// TestStdinShellRuleExact: the shipped EQL query matches exactly the events
// of the calls detect.StdinShell says are attached-stdin shells, allowed or
// refused, over every command of the command table's cases and every stdin.
func TestStdinShellRuleExact(t *testing.T) {
	set, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	one := &Set{Rules: set.Rules[2:3]}
	cmds := [][]string{
		{"sh"}, {"/bin/bash", "-i"}, {"busybox", "sh"}, {"/bin/busybox", "ash"}, {"env", "sh"}, {"nice", "sh"},
		{"nohup", "sh"}, {"setsid", "sh"}, {"stdbuf", "-oL", "sh"}, {"python3"}, {"python3", "-"}, {"perl"},
		{"ruby"}, {"node"}, {"php"}, {"lua"}, {"sh", "-s"}, {"bash", "-"}, {"zsh"}, {"dash"},
		{"sh", "-c", "id"}, {"python3", "-c", "1"}, {"python3", "app.py"}, {"sh", "/entry.sh"},
		{"tar", "xf", "-"}, {"cat"}, {"tee", "/f"}, {"dd", "of=/f"}, {"gzip", "-d"}, {"base64", "-d"},
		{"rsync", "--server", "."}, {"id"}, {"top"},
	}
	n, matched := 0, 0
	for _, op := range []detect.Operation{detect.OpExec, detect.OpContainerStart} {
		for _, stdin := range []detect.Stdin{detect.StdinAttached, detect.StdinNone, detect.StdinUnknown, detect.StdinTerminal} {
			for _, terminal := range []bool{false, true} {
				for _, kind := range []detect.ExecKind{"", detect.ExecStream, detect.ExecSync} {
					for _, block := range []bool{false, true} {
						for _, args := range cmds {
							f := stdinCall(op, stdin, args...)
							f.Process.Terminal = terminal
							f.ExecKind = kind
							d := detect.Decide(f, detect.Policy{Interactive: detect.ActionAlert, FailMode: detect.FailOpen})
							if block {
								d = detect.Decide(f, detect.Policy{Interactive: detect.ActionBlock, FailMode: detect.FailOpen})
							}
							buf, err := detect.Encode(detect.Record{Facts: f, Decision: d, Host: detect.Host{Name: "n"}, Time: time.Unix(1, 0)})
							if err != nil {
								t.Fatal(err)
							}
							line := buf[:bytes.IndexByte(buf, '\n')]
							var doc map[string]any
							if err := json.Unmarshal(line, &doc); err != nil {
								t.Fatal(err)
							}
							want := detect.StdinShell(f)
							got := len(one.Match(doc)) == 1
							n++
							if want {
								matched++
							}
							if got != want {
								t.Errorf("%s %v stdin %q terminal %v kind %q block %v: rule matched %v, StdinShell %v", op, args, stdin, terminal, kind, block, got, want)
							}
						}
					}
				}
			}
		}
	}
	if matched == 0 || matched == n {
		t.Errorf("%d of %d calls are attached-stdin shells: the test tells nothing apart", matched, n)
	}
}

func names(rs []*Rule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, filepath.Base(r.File))
	}
	return out
}

// TestDefaultRules: both forms of the seed rule ship, with Elastic's queries
// verbatim, and match what they match in Elasticsearch.
func TestDefaultRules(t *testing.T) {
	set, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Rules) != 3 || len(set.Skipped) != 0 {
		t.Fatalf("default rules: %d rules, %d skipped, want 3 and 0", len(set.Rules), len(set.Skipped))
	}
	// Default is built in Go; it says what the shipped files say.
	files, err := loadFS(defaultFS, "default", "default/", detect.EventFields(), nil)
	if err != nil || len(files.Rules) != 3 || len(files.Skipped) != 0 {
		t.Fatalf("default/*.toml: %v, %d rules, %d skipped", err, len(files.Rules), len(files.Skipped))
	}
	for i, f := range files.Rules {
		g := set.Rules[i]
		if fmt.Sprintf("%+v", f.Alert()) != fmt.Sprintf("%+v", g.Alert()) || f.File != g.File ||
			strings.TrimSpace(f.Query.String()) != strings.TrimSpace(g.Query.String()) {
			t.Errorf("built-in rule %d differs from %s:\nfile %+v\ngo   %+v", i, f.File, f.Alert(), g.Alert())
		}
	}
	for _, r := range set.Rules {
		if reason := notApplicable(r.Query, detect.EventFields()); reason != "" {
			t.Errorf("%s would not run: %s", r.File, reason)
		}
	}
	for i, want := range []string{detect.RuleQuery2023, detect.RuleQuery2026, detect.StdinShellRuleQuery} {
		r := set.Rules[i]
		if got := strings.TrimSpace(r.Query.String()); got != want {
			t.Errorf("%s query:\n%s\nwant detect's:\n%s", r.File, got, want)
		}
		if i < 2 && (r.ID != detect.RuleID || !r.Seed()) {
			t.Errorf("%s: rule_id %s, want the seed's", r.File, r.ID)
		}
		if !r.PolicyDecided() {
			t.Errorf("%s: its alert is not the policy's", r.File)
		}
	}
	if r := set.Rules[2]; r.ID != detect.StdinShellRuleID || r.Name != detect.StdinShellRuleName || r.Severity != "high" {
		t.Errorf("%s: %s %q %s", r.File, r.ID, r.Name, r.Severity)
	}
	tests := []struct {
		name string
		doc  map[string]any
		want string
	}{
		{"exec -it sh", event(t, detect.OpExec, true, "sh"), "[interactive_exec_2023.toml interactive_exec_2026.toml]"},
		{"exec -it /bin/bash -l", event(t, detect.OpExec, true, "/bin/bash", "-l"), "[interactive_exec_2023.toml interactive_exec_2026.toml]"},
		{"exec -it top", event(t, detect.OpExec, true, "top"), "[interactive_exec_2023.toml]"},
		{"exec sh -c (probe)", event(t, detect.OpExec, false, "sh", "-c", "true"), "[interactive_exec_2026.toml]"},
		{"exec id", event(t, detect.OpExec, false, "id"), "[]"},
		{"exec -i sh", stdinEvent(t, detect.OpExec, detect.StdinAttached, "sh"), "[interactive_exec_2026.toml stdin_shell.toml]"},
		{"exec -i python3", stdinEvent(t, detect.OpExec, detect.StdinAttached, "python3"), "[stdin_shell.toml]"},
		{"container start with stdin, sh", stdinEvent(t, detect.OpContainerStart, detect.StdinAttached, "/bin/sh"), "[interactive_exec_2026.toml stdin_shell.toml]"},
		{"exec -i tar xf -", stdinEvent(t, detect.OpExec, detect.StdinAttached, "tar", "xf", "-"), "[]"},
		{"tty container start sh", event(t, detect.OpContainerStart, true, "sh"), "[interactive_exec_2023.toml interactive_exec_2026.toml]"},
		{"container start", event(t, detect.OpContainerStart, false, "nginx"), "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(names(set.Match(tt.doc))); got != tt.want {
				t.Errorf("matched %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	good := ruleTOML("r-1", "Netcat in a container", `process where process.name in ("nc", "ncat") and container.id like "?*"`)
	tests := []struct {
		name   string
		data   string
		skip   string // part of the reason, when skipped
		errMsg string // part of the error
		line   int
	}{
		{"valid", good, "", "", 0},
		{"toml syntax", "[rule]\nrule_id = \"x\nname = \"y\"\n", "", "", 2},
		{"no rule table", "[metadata]\nx = 1\n", "", "no [rule] table", 0},
		{"missing keys", "[rule]\nname = \"n\"\n", "", "[rule] lacks rule_id, severity, language, query, risk_score", 0},
		{"bad severity", strings.Replace(good, `"medium"`, `"urgent"`, 1), "", `severity "urgent"`, 0},
		{"bad risk", strings.Replace(good, "risk_score = 47", "risk_score = 470", 1), "", "risk_score 470", 0},
		{"query syntax", ruleTOML("r", "n", "process where process.name = \"nc\""), "", "query: '=' is not an operator", 13},
		{"query syntax line 2", ruleTOML("r", "n", "process where true and\n  process.name : nc"), "", "query: ':' needs a string pattern", 14},
		{"kuery", strings.Replace(good, `language = "eql"`, `language = "kuery"`, 1), "only EQL rules run", "", 0},
		{"threshold", strings.Replace(good, `type = "eql"`, `type = "threshold"`, 1), "a threshold rule", "", 0},
		{"sequence", ruleTOML("r", "n", `sequence by container.id [file where true] [process where true]`), "a sequence query over several events: the runtime decides each process start on its own", "", 0},
		{"sequence with maxspan", ruleTOML("r", "n", "sequence by process.parent.entity_id, container.id with maxspan=1s\n  [process where event.action == \"exec\"]\n  [process where event.action in (\"exec\", \"end\")]"), "a sequence query over several events", "", 0},
		{"sample", ruleTOML("r", "n", `sample by host.id [process where true] [process where true]`), "a sample query over several events", "", 0},
		{"file events", ruleTOML("r", "n", `file where file.path : "/etc/*"`), "reads file events", "", 0},
		{"descendants", ruleTOML("r", "n", `process where process.parent.args : "*curl*"`), "reads process.parent.args", "", 0},
		{"parent in the container", ruleTOML("r", "n", `process where process.name == "curl" and process.parent.name in ("bash", "sh")`), "rules on a process's parent describe descendant processes", "", 0},
		{"never carried", ruleTOML("r", "n", `process where user.name == "root"`), "reads user.name, which the runtime's events never carry", "", 0},
		{"optional unknown field", ruleTOML("r", "n", `process where ?process.parent.args : "*curl*" or process.name == "nc"`), "", "", 0},
		{"pipe", ruleTOML("r", "n", `process where true | head 1`), "pipes", "", 0},
		{"unsupported function", ruleTOML("r", "n", `process where substring(process.name, 1) == "c"`), "function substring is not supported", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, skip, err := Parse("r.toml", []byte(tt.data))
			switch {
			case tt.errMsg != "" || tt.line != 0:
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("got rule %v, skip %v, error %v; want an *Error", r, skip, err)
				}
				if !strings.Contains(e.Msg, tt.errMsg) || (tt.line != 0 && e.Line != tt.line) {
					t.Errorf("error %v; want line %d and %q", err, tt.line, tt.errMsg)
				}
				if !strings.HasPrefix(err.Error(), "r.toml") {
					t.Errorf("error %q does not name the file", err)
				}
			case tt.skip != "":
				if skip == nil || !strings.Contains(skip.Reason, tt.skip) || err != nil {
					t.Fatalf("got rule %v, skip %+v, error %v; want skipped because %q", r, skip, err, tt.skip)
				}
			default:
				if r == nil || err != nil || skip != nil {
					t.Fatalf("got rule %v, skip %+v, error %v; want a rule", r, skip, err)
				}
			}
		})
	}
}

func TestParseThreat(t *testing.T) {
	set, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	a := set.Rules[0].Alert()
	if a.Severity != "high" || a.RiskScore != 73 || len(a.Threat) != 1 || a.Threat[0].Tactic.ID != "TA0002" ||
		len(a.Threat[0].Techniques) != 2 || a.Threat[0].Techniques[0].Subtechniques[0].ID != "T1059.004" {
		t.Errorf("2023 rule alert: %+v", a)
	}
	if b := set.Rules[1].Alert(); b.Severity != "low" || b.RiskScore != 21 {
		t.Errorf("2026 rule alert: %+v", b)
	}
}

// TestOutcome: one alert per rule id, none for the seed rule, names once.
func TestOutcome(t *testing.T) {
	seed, _ := Default()
	a1 := &Rule{ID: "a", Name: "A v1"}
	a2 := &Rule{ID: "a", Name: "A v2"}
	b := &Rule{ID: "b", Name: "B"}
	tests := []struct {
		matched        []*Rule
		names, alerted string
	}{
		{nil, "[]", "[]"},
		{[]*Rule{a1}, "[A v1]", "[a]"},
		{[]*Rule{a1, a2, b}, "[A v1 A v2 B]", "[a b]"},
		{[]*Rule{seed.Rules[0], seed.Rules[1]}, "[" + seed.Rules[0].Name + " " + seed.Rules[1].Name + "]", "[]"},
		{[]*Rule{seed.Rules[1], b, b}, "[" + seed.Rules[1].Name + " B]", "[b]"},
	}
	for _, tt := range tests {
		names, alerts := Outcome(tt.matched)
		var ids []string
		for _, a := range alerts {
			ids = append(ids, a.ID)
		}
		if fmt.Sprint(names) != tt.names || fmt.Sprint(ids) != tt.alerted {
			t.Errorf("Outcome(%v) = %v, %v; want %s, %s", names, names, ids, tt.names, tt.alerted)
		}
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a_netcat.toml":  ruleTOML("r-nc", "Netcat", `process where process.name in ("nc", "ncat")`),
		"b_file.toml":    ruleTOML("r-f", "File", `file where true`),
		"c_broken.toml":  "[rule\n",
		".hidden.toml":   "not read",
		"notes.md":       "not read",
		"d_id.toml":      ruleTOML("r-id", "Id", `process where process.name == "id"`),
		"e_netcat2.toml": ruleTOML("r-nc", "Netcat again", `process where process.args : "-e"`),
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := LoadDir(dir)
	if err == nil || !strings.Contains(err.Error(), "c_broken.toml:1") {
		t.Errorf("LoadDir error %v, want c_broken.toml's position", err)
	}
	if got := fmt.Sprint(names(set.Rules)); got != "[a_netcat.toml d_id.toml e_netcat2.toml]" {
		t.Errorf("rules %s", got)
	}
	if len(set.Skipped) != 1 || !strings.HasSuffix(set.Skipped[0].File, "b_file.toml") {
		t.Errorf("skipped %+v, want b_file.toml", set.Skipped)
	}
	names, alerts := Outcome(set.Match(event(t, detect.OpExec, false, "nc", "-e", "/bin/sh")))
	if fmt.Sprint(names) != "[Netcat Netcat again]" || len(alerts) != 1 || alerts[0].Name != "Netcat" {
		t.Errorf("nc -e: names %v, alerts %+v", names, alerts)
	}
	if _, err := LoadDir(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing dir: %v", err)
	}
}

// TestDecidedForm: the seed rule's alert takes the metadata of the form
// that matched, the current one when both did.
func TestDecidedForm(t *testing.T) {
	set, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		doc      map[string]any
		wantName string
		wantRisk int
	}{
		{"tty sh exec: both forms", event(t, detect.OpExec, true, "sh"), detect.Rule2026Name, 21},
		{"tty top exec: the 2023 form", event(t, detect.OpExec, true, "top"), detect.RuleName, 73},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decided(set.Match(tt.doc))
			if len(d) != 1 || d[0].ID != detect.RuleID || d[0].Name != tt.wantName || d[0].RiskScore != tt.wantRisk || d[0].Category != "Execution" {
				t.Errorf("Decided = %+v, want %s (%d)", d, tt.wantName, tt.wantRisk)
			}
		})
	}
}
