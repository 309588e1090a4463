package detect

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/internal/ecsfields"
)

// elasticDoc is one kind of document execguard writes, decoded.
type elasticDoc struct {
	name string
	docs []map[string]any
}

// allDocuments encodes every kind of document detect writes, with every
// optional field filled, as the fronts and the plugin write them.
func allDocuments(t *testing.T) []elasticDoc {
	t.Helper()
	full := ttyExec()
	full.Process.Env = []string{"PATH=/bin", "TERM"}
	full.Process.UserName = "root"
	full.Process.ConsoleRows, full.Process.ConsoleColumns = 40, 132
	full.Process.TTY = &CharDevice{Major: 136, Minor: 3}
	full.Process.PID = 4242
	full.Container.PodLabels = map[string]string{"app": "web", "app.kubernetes.io/name": "web"}
	full.Container.ImageDigest, full.Container.RuntimeHandler = "sha256:0123", "runc"
	full.Container.Bundle, full.Container.Manager, full.Container.Type, full.Container.SandboxID = "/run/b", "containerd", "container", "s1"
	full.Caller.Engine, full.ExecKind = "containerd-shim", ExecStream
	full.Stdin, full.StdinSource = StdinTerminal, "terminal"
	full.Cluster = Cluster{ID: "0b1c2d3e-kube-system-uid", Name: "prod"}
	full.Namespace = "prod_eu"
	full.AddProblem("a problem")
	start := full
	start.Operation, start.Subcommand, start.ExecID = OpContainerStart, "create", ""
	plain := full
	plain.Process.Terminal, plain.Process.Args = false, []string{"nc", "-l", "-p", "4444"}
	plain.Stdin = StdinNone
	stdin := full
	stdin.Process.Terminal, stdin.Stdin, stdin.StdinSource = false, StdinAttached, "fifo"
	stdin.Process.Args = []string{"sh"}
	probe := full
	probe.ExecKind = ExecSync
	long := plain
	long.Process.Args = append([]string{"echo"}, make([]string, maxArgs)...)

	alert := Policy{ActionAlert, FailOpen, ""}
	rule := RuleAlert{
		ID: "9a1d1c52-3c1e-4a57-8a5e-1c0e5d1b7a01", Name: "Netcat", Description: "d", Severity: "medium", RiskScore: 47,
		Category: "Execution", References: []string{"https://example.com/"},
		Threat: []Threat{{Framework: "MITRE ATT&CK", Tactic: ThreatRef{ID: "TA0002", Name: "Execution", Reference: "r"},
			Techniques: []Technique{{ThreatRef: ThreatRef{ID: "T1059", Name: "n", Reference: "r"}, Subtechniques: []ThreatRef{{ID: "T1059.004", Name: "n", Reference: "r"}}}}}},
	}
	enc := func(f Facts, p Policy, edit func(*Record)) []map[string]any {
		r := record(f, p)
		r.Host = Host{Name: "node-1", ID: "machine-id-1"}
		if edit != nil {
			edit(&r)
		}
		return lines(t, r)
	}
	line := func(b []byte, err error) []map[string]any {
		if err != nil {
			t.Fatal(err)
		}
		return linesOf(t, b)
	}
	life := Lifecycle{Container: full.Container, Cluster: full.Cluster, Host: Host{Name: "node-1", ID: "m"}, Time: time.Unix(100, 0), Agent: "execguard-nri", Namespace: "prod_eu"}
	code := int32(3)
	return []elasticDoc{
		{"interactive exec, 2026 form matched", enc(full, alert, func(r *Record) {
			r.Decision.Decided = []RuleAlert{{ID: RuleID, Name: Rule2026Name, Severity: Rule2026Severity, RiskScore: Rule2026RiskScore, Category: "Execution"}}
			r.Decision.Selectors, r.Decision.MatchedRules, r.Decision.PolicyRevision = []string{"allProcesses"}, []string{Rule2026Name}, "rev"
		})},
		{"interactive exec blocked", enc(full, Policy{ActionBlock, FailOpen, "policy: bad"}, nil)},
		{"interactive container start", enc(start, alert, nil)},
		{"attached-stdin shell", enc(stdin, alert, nil)},
		{"exec with a rule alert and a policy alert", enc(plain, alert, func(r *Record) {
			r.Decision.Alert, r.Decision.Rules = true, []RuleAlert{rule}
		})},
		{"probe asking for a terminal", enc(probe, alert, nil)},
		{"arguments cut", enc(long, Policy{ActionLog, FailOpen, ""}, nil)},
		{"unknown call", enc(Facts{Operation: OpUnknown, Problems: []string{"bad"}, Namespace: "prod_eu"}, alert, nil)},
		{"end of an exec", line(EncodeEnd(End{Lifecycle: life, Args: []string{"/bin/sh"}, StartEntityID: "e", StartTime: "1970-01-01T00:01:00Z", ExitCode: &code, PID: 4242, ExecID: "x", NotInteractive: true}))},
		{"end of a container, found on resync", line(EncodeEnd(End{Lifecycle: life, Args: []string{"sh"}, ExitCode: &code, Detected: "resync"}))},
		{"coverage alert", line(EncodeCoverageAlert(life, "runtime handler kata"))},
		{"terminal output", line(EncodeTextOutput(TextOutput{Lifecycle: life, Session: Session{
			EntityID: "e", Start: "1970-01-01T00:01:00Z", PID: 4242, Args: []string{"/bin/sh"}, Interactive: true, UserID: "0", ExecID: "x",
			TTY: TTY{Major: 136, Minor: 3, Known: true, Rows: 40, Columns: 132}, Caller: Caller{PID: 1, Name: "containerd-shim", Executable: "/usr/bin/containerd-shim"},
		}, Text: "$ id\r\nuid=0(root)\r\n", Captured: 20, Skipped: 5, Exceeded: true}))},
	}
}

// TestDocumentsIndexCleanly: every leaf field of every kind of document is
// one Defend for Containers' process stream maps, with a value its type
// takes, or is execguard's own. An alert's kibana.alert object is how
// Session View files a document as an alert; it is no ECS field and goes to
// the alerts stream, which maps it dynamically.
func TestDocumentsIndexCleanly(t *testing.T) {
	table, err := ecsfields.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range allDocuments(t) {
		for _, doc := range k.docs {
			allowed := []string{"execguard."}
			if field(doc, "event.kind") == "alert" {
				allowed = append(allowed, "kibana.alert.")
			}
			for _, p := range table.Check(doc, allowed...) {
				t.Errorf("%s, %v: %s", k.name, field(doc, "event.kind"), p)
			}
		}
	}
}

// TestSessionViewFields: Session View opens on every exec and container
// start (entry leader's entity_id and start), and every end closes its
// process (end, exit code).
func TestSessionViewFields(t *testing.T) {
	for _, k := range allDocuments(t) {
		for _, doc := range k.docs {
			what := k.name + ", " + field(doc, "event.kind").(string)
			wantStream := map[any]string{"event": Dataset, "alert": AlertsDataset}[field(doc, "event.kind")]
			if field(doc, "data_stream.dataset") != wantStream || field(doc, "event.dataset") != wantStream {
				t.Errorf("%s: dataset %v/%v, want %s", what, field(doc, "data_stream.dataset"), field(doc, "event.dataset"), wantStream)
			}
			if field(doc, "data_stream.namespace") != "prod_eu" || field(doc, "cloud.instance.name") != "node-1" {
				t.Errorf("%s: data_stream.namespace %v, cloud.instance.name %v", what, field(doc, "data_stream.namespace"), field(doc, "cloud.instance.name"))
			}
			switch field(doc, "event.action") {
			case "exec":
				for _, f := range []string{"process.entity_id", "process.start", "process.entry_leader.entity_id", "process.entry_leader.start", "process.entry_leader.entry_meta.type"} {
					if s, _ := field(doc, f).(string); s == "" {
						t.Errorf("%s: %s missing", what, f)
					}
				}
				if field(doc, "process.entry_leader.entity_id") != field(doc, "process.entity_id") || field(doc, "process.entry_leader.start") != field(doc, "process.start") {
					t.Errorf("%s: the process is not its own entry leader", what)
				}
				if op := field(doc, "execguard.operation"); op != "exec" && op != "container-start" {
					t.Errorf("%s: execguard.operation %v", what, op)
				}
			case "end":
				for _, f := range []string{"process.end", "process.exit_code"} {
					if field(doc, f) == nil {
						t.Errorf("%s: %s missing", what, f)
					}
				}
			}
		}
	}
	full := allDocuments(t)[0].docs[0]
	for path, want := range map[string]any{
		"process.pid": 4242.0, "process.user.name": "root", "process.tty.rows": 40.0, "process.tty.columns": 132.0,
		"process.tty.char_device.major": 136.0, "process.tty.char_device.minor": 3.0, "process.entry_leader.pid": 4242.0,
	} {
		if got := field(full, path); got != want {
			t.Errorf("tty exec: %s = %v, want %v", path, got, want)
		}
	}
}

// TestSeedAlertMetadata: the seed rule's alert carries the name, severity
// and risk score of the form that matched.
func TestSeedAlertMetadata(t *testing.T) {
	form2026 := RuleAlert{ID: RuleID, Name: Rule2026Name, Severity: Rule2026Severity, RiskScore: Rule2026RiskScore, Category: "Execution"}
	form2023 := RuleAlert{ID: RuleID, Name: RuleName, Severity: RuleSeverity, RiskScore: RuleRiskScore, Category: "Execution"}
	tests := []struct {
		name     string
		decided  []RuleAlert
		wantName string
		wantSev  string
		wantRisk float64
	}{
		{"2026 form matched", []RuleAlert{form2026}, Rule2026Name, "low", 21},
		{"only the 2023 form matched", []RuleAlert{form2023}, RuleName, "high", 73},
		{"no form's query ran", nil, RuleName, "high", 73},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := record(ttyExec(), Policy{ActionAlert, FailOpen, ""})
			r.Decision.Decided = tt.decided
			docs := lines(t, r)
			if len(docs) != 2 {
				t.Fatalf("%d documents, want an event and an alert", len(docs))
			}
			a := docs[1]
			for path, want := range map[string]any{
				"rule.name": tt.wantName, "kibana.alert.rule.name": tt.wantName, "kibana.alert.severity": tt.wantSev,
				"kibana.alert.risk_score": tt.wantRisk, "event.risk_score": tt.wantRisk, "event.severity": tt.wantRisk,
				"rule.id": RuleID, "rule.category": "Execution",
			} {
				if got := field(a, path); got != want {
					t.Errorf("%s = %v, want %v", path, got, want)
				}
			}
		})
	}
}

func linesOf(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line is not JSON: %v\n%s", err, l)
		}
		out = append(out, m)
	}
	return out
}
