package detect

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func record(f Facts, p Policy) Record {
	return Record{
		Facts: f, Decision: Decide(f, p), Policy: p,
		Host: Host{Name: "node-1", ID: "machine-id-1"},
		Time: time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC),
	}
}

func ttyExec() Facts {
	f := execFacts(true)
	f.Process.Args = []string{"/bin/sh", "-c", "id"}
	f.Process.Cwd = "/"
	f.Container.Image = "docker.io/library/busybox:1.36"
	f.Container.PodUID = "uid-1"
	f.Container.Runtime = "runc"
	f.Caller = Caller{PID: 42, Name: "containerd-shim", Executable: "/usr/bin/containerd-shim-runc-v2"}
	f.ExecID = "cd71db3d"
	f.Subcommand = "exec"
	return f
}

// lines encodes a record and decodes each line, failing on anything that is
// not one JSON object per line.
func lines(t *testing.T, r Record) []map[string]any {
	t.Helper()
	buf, err := Encode(r)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !bytes.HasSuffix(buf, []byte("\n")) {
		t.Fatalf("output does not end in a newline: %q", buf)
	}
	var docs []map[string]any
	for _, line := range bytes.Split(bytes.TrimSuffix(buf, []byte("\n")), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line is not JSON: %v\n%s", err, line)
		}
		docs = append(docs, m)
	}
	return docs
}

// field reads a dotted path from a decoded document.
func field(doc map[string]any, path string) any {
	var cur any = doc
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

func TestEncodeInteractiveExec(t *testing.T) {
	docs := lines(t, record(ttyExec(), Policy{ActionAlert, FailOpen, ""}))
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want an event and an alert", len(docs))
	}
	want := map[string]any{
		"@timestamp":                             "2026-11-26T23:00:00Z",
		"event.kind":                             "event",
		"event.action":                           "exec",
		"event.outcome":                          "success",
		"event.dataset":                          "cloud_defend.process",
		"process.name":                           "sh",
		"process.executable":                     "/bin/sh",
		"process.interactive":                    true,
		"process.working_directory":              "/",
		"process.user.id":                        "0",
		"process.entry_leader.same_as_process":   true,
		"process.entry_leader.entry_meta.type":   "container",
		"process.entry_leader.interactive":       true,
		"process.session_leader.same_as_process": true,
		"process.group_leader.same_as_process":   true,
		"process.parent.name":                    "containerd-shim",
		"container.id":                           "22858e7c2c55d6b8fa2db42b",
		"container.name":                         "shell",
		"container.image.name":                   "docker.io/library/busybox",
		"container.image.tag":                    "1.36",
		"container.runtime":                      "runc",
		"orchestrator.type":                      "kubernetes",
		"orchestrator.namespace":                 "default",
		"orchestrator.resource.name":             "web",
		"orchestrator.resource.type":             "pod",
		"orchestrator.resource.id":               "uid-1",
		"host.name":                              "node-1",
		"host.id":                                "machine-id-1",
		"host.os.type":                           "linux",
		"data_stream.dataset":                    "cloud_defend.process",
		"execguard.action":                       "alert",
		"execguard.exec_id":                      "cd71db3d",
	}
	for path, v := range want {
		if got := field(docs[0], path); got != v {
			t.Errorf("event %s = %#v, want %#v", path, got, v)
		}
	}
	if got := field(docs[0], "event.type"); !equalJSON(got, []string{"start"}) {
		t.Errorf("event.type = %v", got)
	}
	if field(docs[0], "rule") != nil {
		t.Errorf("the event carries rule fields")
	}
	alert := docs[1]
	wantAlert := map[string]any{
		"event.kind":              "alert",
		"event.risk_score":        float64(73),
		"rule.id":                 RuleID,
		"rule.name":               RuleName,
		"kibana.alert.severity":   "high",
		"kibana.alert.risk_score": float64(73),
		"threat.framework":        "MITRE ATT&CK",
		"process.entity_id":       field(docs[0], "process.entity_id"),
		"container.id":            "22858e7c2c55d6b8fa2db42b",
	}
	for path, v := range wantAlert {
		if got := field(alert, path); got != v {
			t.Errorf("alert %s = %#v, want %#v", path, got, v)
		}
	}
	for path, v := range map[string][]string{
		"threat.tactic.id":                 {"TA0002"},
		"threat.technique.id":              {"T1059", "T1609"},
		"threat.technique.subtechnique.id": {"T1059.004"},
	} {
		if got := field(alert, path); !equalJSON(got, v) {
			t.Errorf("alert %s = %v, want %v", path, got, v)
		}
	}
	if field(alert, "event.id") == field(docs[0], "event.id") {
		t.Errorf("event and alert share event.id")
	}
}

func TestEncodeVariants(t *testing.T) {
	plain := ttyExec()
	plain.Process.Terminal = false
	unreadable := ttyExec()
	unreadable.Process = Process{}
	unreadable.AddProblem("process spec: open /tmp/x: no such file or directory")
	start := ttyExec()
	start.Operation = OpContainerStart
	ttySync := ttyExec()
	ttySync.ExecKind = ExecSync
	plainSync := plain
	plainSync.ExecKind = ExecSync

	tests := []struct {
		name    string
		facts   Facts
		policy  Policy
		docs    int
		typ     string
		outcome string
		check   func(t *testing.T, doc map[string]any)
	}{
		{name: "plain exec: one event, not interactive", facts: plain, policy: Policy{ActionAlert, FailOpen, ""}, docs: 1, typ: "start", outcome: "success",
			check: func(t *testing.T, doc map[string]any) {
				if field(doc, "process.interactive") != false {
					t.Errorf("process.interactive = %v", field(doc, "process.interactive"))
				}
			}},
		{name: "plain exec: no terminal requested", facts: plain, policy: Policy{ActionAlert, FailOpen, ""}, docs: 1, typ: "start", outcome: "success",
			check: func(t *testing.T, doc map[string]any) {
				if v := field(doc, "execguard.terminal_requested"); v != nil {
					t.Errorf("execguard.terminal_requested = %v", v)
				}
			}},
		{name: "sync exec asking for a terminal: recorded, not interactive, not blocked", facts: ttySync, policy: Policy{ActionBlock, FailOpen, ""}, docs: 1, typ: "start", outcome: "success",
			check: func(t *testing.T, doc map[string]any) {
				if v := field(doc, "execguard.terminal_requested"); v != true {
					t.Errorf("execguard.terminal_requested = %v, want true", v)
				}
				if v := field(doc, "process.interactive"); v != false {
					t.Errorf("process.interactive = %v, want false", v)
				}
			}},
		{name: "sync exec without a terminal", facts: plainSync, policy: Policy{ActionBlock, FailOpen, ""}, docs: 1, typ: "start", outcome: "success",
			check: func(t *testing.T, doc map[string]any) {
				if v := field(doc, "execguard.terminal_requested"); v != nil {
					t.Errorf("execguard.terminal_requested = %v", v)
				}
			}},
		{name: "interactive stream exec: the terminal is not merely requested", facts: ttyExec(), policy: Policy{ActionAlert, FailOpen, ""}, docs: 2, typ: "start", outcome: "success",
			check: func(t *testing.T, doc map[string]any) {
				if v := field(doc, "execguard.terminal_requested"); v != nil {
					t.Errorf("execguard.terminal_requested = %v", v)
				}
			}},
		{name: "log action: no alert", facts: ttyExec(), policy: Policy{ActionLog, FailOpen, ""}, docs: 1, typ: "start", outcome: "success"},
		{name: "blocked: denied, failure, reason", facts: ttyExec(), policy: Policy{ActionBlock, FailOpen, ""}, docs: 2, typ: "denied", outcome: "failure",
			check: func(t *testing.T, doc map[string]any) {
				if r, _ := field(doc, "execguard.reason").(string); !strings.Contains(r, "blocked by policy") {
					t.Errorf("execguard.reason = %q", r)
				}
			}},
		{name: "unreadable spec: error recorded, interactive absent", facts: unreadable, policy: Policy{ActionAlert, FailOpen, ""}, docs: 1, typ: "start", outcome: "success",
			check: func(t *testing.T, doc map[string]any) {
				if m, _ := field(doc, "error.message").(string); !strings.Contains(m, "no such file") {
					t.Errorf("error.message = %q", m)
				}
				if v := field(doc, "process.interactive"); v != nil {
					t.Errorf("process.interactive = %v for an unknown process", v)
				}
			}},
		{name: "container start", facts: start, policy: Policy{ActionAlert, FailOpen, ""}, docs: 2, typ: "start", outcome: "success",
			check: func(t *testing.T, doc map[string]any) {
				if a := field(doc, "event.action"); a != "exec" {
					t.Errorf("event.action = %v, want exec (a container's first process)", a)
				}
				if o := field(doc, "execguard.operation"); o != "container-start" {
					t.Errorf("execguard.operation = %v, want container-start", o)
				}
			}},
		{name: "unknown call", facts: Facts{Operation: OpUnknown, Problems: []string{"command line: bad"}}, policy: Policy{ActionAlert, FailOpen, ""}, docs: 1, typ: "info", outcome: "unknown",
			check: func(t *testing.T, doc map[string]any) {
				if field(doc, "process") != nil {
					t.Errorf("an unknown call has process fields")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := lines(t, record(tt.facts, tt.policy))
			if len(docs) != tt.docs {
				t.Fatalf("got %d documents, want %d", len(docs), tt.docs)
			}
			for _, doc := range docs {
				if got := field(doc, "event.type"); !equalJSON(got, []string{tt.typ}) {
					t.Errorf("event.type = %v, want [%s]", got, tt.typ)
				}
				if got := field(doc, "event.outcome"); got != tt.outcome {
					t.Errorf("event.outcome = %v, want %s", got, tt.outcome)
				}
			}
			if tt.check != nil {
				tt.check(t, docs[0])
			}
		})
	}
}

// TestEncodeHostileInput: control characters, invalid UTF-8 and huge argument
// lists still give one bounded JSON object per line.
func TestEncodeHostileInput(t *testing.T) {
	f := ttyExec()
	huge := make([]string, 10000)
	for i := range huge {
		huge[i] = strings.Repeat("x", 100)
	}
	f.Process.Args = append([]string{"sh\n{\"event\":1}\x00\x1b[2J", "\xff\xfe bad utf8", strings.Repeat("y", 1<<20)}, huge...)
	f.Process.Cwd = "/\n"
	f.Container.Name = "\u2028name\r"
	docs := lines(t, record(f, Policy{ActionAlert, FailOpen, ""}))
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2", len(docs))
	}
	args, _ := field(docs[0], "process.args").([]any)
	if len(args) != maxArgs {
		t.Errorf("len(process.args) = %d, want it capped at %d", len(args), maxArgs)
	}
	if n := field(docs[0], "process.args_count"); n != float64(len(f.Process.Args)) {
		t.Errorf("process.args_count = %v, want %d", n, len(f.Process.Args))
	}
	if s, _ := args[2].(string); len(s) != maxArgBytes {
		t.Errorf("a 1 MiB argument became %d bytes, want %d", len(s), maxArgBytes)
	}
	if field(docs[0], "execguard.truncated") != true {
		t.Errorf("execguard.truncated not set")
	}
	buf, _ := Encode(record(f, Policy{ActionAlert, FailOpen, ""}))
	if len(buf) > 4<<20 {
		t.Errorf("encoded record is %d bytes", len(buf))
	}
}

func TestSplitImage(t *testing.T) {
	for ref, want := range map[string][2]string{
		"docker.io/library/busybox:1.36": {"docker.io/library/busybox", "1.36"},
		"localhost:5000/app":             {"localhost:5000/app", ""},
		"localhost:5000/app:v2":          {"localhost:5000/app", "v2"},
		"quay.io/x/app@sha256:abcd":      {"quay.io/x/app", "sha256:abcd"},
		"busybox":                        {"busybox", ""},
	} {
		name, tag := splitImage(ref)
		if name != want[0] || tag != want[1] {
			t.Errorf("splitImage(%q) = %q, %q; want %q, %q", ref, name, tag, want[0], want[1])
		}
	}
}

func equalJSON(got any, want []string) bool {
	list, ok := got.([]any)
	if !ok || len(list) != len(want) {
		return false
	}
	for i := range list {
		if list[i] != want[i] {
			return false
		}
	}
	return true
}

// BenchmarkDecideEncode measures what the wrapper adds per exec beyond I/O:
// the decision and both documents of an interactive exec.
func BenchmarkDecideEncode(b *testing.B) {
	f := ttyExec()
	f.Process.Env = []string{"PATH=/bin", "TERM=xterm"}
	p := Policy{ActionAlert, FailOpen, ""}
	host := Host{Name: "node-1", ID: "machine-id-1"}
	b.ReportAllocs()
	for b.Loop() {
		d := Decide(f, p)
		if _, err := Encode(Record{Facts: f, Decision: d, Policy: p, Host: host, Time: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAlertMembers(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal([]byte("{"+alertMembers+"}"), &m); err != nil {
		t.Fatalf("alert members are not JSON: %v", err)
	}
	if got := field(m, "kibana.alert.risk_score"); got != float64(RuleRiskScore) {
		t.Errorf("kibana.alert.risk_score = %v, want %d", got, RuleRiskScore)
	}
	if got := field(m, "rule.id"); got != RuleID {
		t.Errorf("rule.id = %v", got)
	}
}

func TestPolicyAlertOnNonInteractiveProcess(t *testing.T) {
	f := ttyExec()
	f.Process.Terminal = false
	f.Process.Args = []string{"nc", "-l", "4444"}
	d := Decision{Action: ActionAlert, Alert: true, Selectors: []string{"netcat"}, PolicyRevision: "r1"}
	r := Record{Facts: f, Decision: d, Policy: DefaultPolicy(), Host: Host{Name: "n"}, Time: time.Now()}
	buf, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	docs := bytes.Split(bytes.TrimSpace(buf), []byte("\n"))
	if len(docs) != 2 {
		t.Fatalf("got %d documents", len(docs))
	}
	var alert map[string]any
	if err := json.Unmarshal(docs[1], &alert); err != nil {
		t.Fatal(err)
	}
	if got := field(alert, "rule.id"); got != PolicyAlertRuleID {
		t.Errorf("rule.id = %v, want the policy alert rule, not the interactive-exec rule", got)
	}
	if field(alert, "threat") != nil {
		t.Errorf("a policy alert carries the interactive rule's threat mapping")
	}
	if got := field(alert, "cloud_defend.matched_selectors"); !equalJSON(got, []string{"netcat"}) {
		t.Errorf("matched selectors = %v", got)
	}
	if got := field(alert, "execguard.policy_revision"); got != "r1" {
		t.Errorf("policy revision = %v", got)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte("{"+policyAlertMembers+"}"), &m); err != nil {
		t.Fatalf("policy alert members are not JSON: %v", err)
	}
}
