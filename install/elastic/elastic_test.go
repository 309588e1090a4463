package elastic

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/internal/ecsfields"
)

func decode(t *testing.T, name string, data []byte) map[string]any {
	t.Helper()
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: not a JSON object: %v", name, err)
	}
	if dec.More() {
		t.Fatalf("%s: more than one JSON document", name)
	}
	return v
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// TestTemplatesFitTogether: the index template composes the component
// template and runs the pipeline, which reroutes alerts.
func TestTemplatesFitTogether(t *testing.T) {
	it := decode(t, "index-template.json", IndexTemplate)
	decode(t, "component-template.json", ComponentTemplate)
	p := decode(t, "ingest-pipeline.json", Pipeline)
	var composed []string
	for _, c := range get(it, "composed_of").([]any) {
		composed = append(composed, c.(string))
	}
	if !slices.Contains(composed, ComponentTemplateName) || composed[len(composed)-1] != ComponentTemplateName {
		t.Errorf("composed_of %v: want %s last, so its mappings win", composed, ComponentTemplateName)
	}
	if got := get(it, "template", "settings", "index", "default_pipeline"); got != PipelineName {
		t.Errorf("default_pipeline %v, want %s", got, PipelineName)
	}
	// Below the integration's templates (200), above the built-in logs (100).
	if pr, _ := get(it, "priority").(float64); pr <= 100 || pr >= 200 {
		t.Errorf("priority %v, want between 100 and 200", pr)
	}
	rerouted := false
	for _, proc := range get(p, "processors").([]any) {
		if r := get(proc, "reroute"); r != nil {
			rerouted = get(r, "dataset") == detect.AlertsDataset && strings.Contains(get(r, "if").(string), "'alert'")
		}
	}
	if !rerouted {
		t.Errorf("the pipeline does not reroute alerts to %s", detect.AlertsDataset)
	}
}

// mapped finds a dotted field's mapping: its own, or a flattened parent's.
func mapped(props map[string]any, name string) (string, bool) {
	parts := strings.Split(name, ".")
	cur := props
	for i, p := range parts {
		m, ok := cur[p].(map[string]any)
		if !ok {
			return "", false
		}
		if typ, _ := m["type"].(string); typ == "flattened" || i == len(parts)-1 {
			return typ, typ != ""
		}
		cur, _ = m["properties"].(map[string]any)
	}
	return "", false
}

// TestEveryFieldMapped: every field of every kind of document execguard
// writes has a mapping that takes its value, the integration's own type
// where it maps the field (so the two never conflict in one index pattern).
func TestEveryFieldMapped(t *testing.T) {
	ct := decode(t, "component-template.json", ComponentTemplate)
	props, _ := get(ct, "template", "mappings", "properties").(map[string]any)
	table, err := ecsfields.Load()
	if err != nil {
		t.Fatal(err)
	}
	if typ, _ := mapped(props, "orchestrator.resource.label"); typ != "flattened" {
		t.Errorf("orchestrator.resource.label: %q, want flattened", typ)
	}
	n := 0
	for _, doc := range documents(t) {
		for name, v := range ecsfields.Leaves(doc) {
			n++
			typ, ok := mapped(props, name)
			if !ok {
				t.Errorf("%s: not mapped", name)
				continue
			}
			if typ == "flattened" {
				continue
			}
			if err := ecsfields.Compatible(typ, v); err != nil {
				t.Errorf("%s (%s): %v", name, typ, err)
			}
			if f, ok := table[name]; ok && f.Type != typ {
				t.Errorf("%s: mapped %s, Defend for Containers maps it %s", name, typ, f.Type)
			}
		}
	}
	if n == 0 {
		t.Fatal("no fields checked")
	}
}

// documents are the kinds of document the fronts and the plugin write.
func documents(t *testing.T) []map[string]any {
	t.Helper()
	f := detect.Facts{
		Operation: detect.OpExec, Subcommand: "exec", ExecID: "e1", ExecKind: detect.ExecStream,
		Process: detect.Process{Known: true, Args: []string{"/bin/sh"}, Env: []string{"TERM"}, Cwd: "/", Terminal: true,
			UserName: "root", ConsoleRows: 24, ConsoleColumns: 80, TTY: &detect.CharDevice{Major: 136, Minor: 1}, PID: 7},
		Stdin: detect.StdinTerminal, StdinSource: "terminal",
		Container: detect.Container{ID: "c1", Name: "app", Image: "busybox:1", Runtime: "runc", Bundle: "/b", Type: "container",
			SandboxID: "s", Manager: "containerd", PodName: "web", PodNamespace: "shop", PodUID: "u",
			PodLabels: map[string]string{"app": "web", "app.kubernetes.io/name": "web"}, ImageDigest: "sha256:00", RuntimeHandler: "runc"},
		Caller:    detect.Caller{PID: 1, Name: "containerd-shim", Executable: "/shim", Engine: "containerd-shim"},
		Cluster:   detect.Cluster{ID: "uid", Name: "prod"},
		Namespace: "prod",
		Problems:  []string{"p"},
	}
	host := detect.Host{Name: "node-1", ID: "m"}
	var out []map[string]any
	add := func(b []byte, err error) {
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			out = append(out, decode(t, "document", l))
		}
	}
	for _, p := range []detect.Policy{{Interactive: detect.ActionAlert, FailMode: detect.FailOpen}, {Interactive: detect.ActionBlock, FailMode: detect.FailClosed, Err: "e"}} {
		d := detect.Decide(f, p)
		d.Selectors, d.MatchedRules, d.PolicyRevision = []string{"s"}, []string{"r"}, "rev"
		d.Rules = []detect.RuleAlert{{ID: "r1", Name: "n", Severity: "low", RiskScore: 21, Category: "Execution",
			Threat: []detect.Threat{{Framework: "MITRE ATT&CK", Tactic: detect.ThreatRef{ID: "TA0002", Name: "Execution", Reference: "r"}}}}}
		add(detect.Encode(detect.Record{Facts: f, Decision: d, Policy: p, Host: host, Time: time.Unix(1, 0)}))
	}
	code := int32(0)
	life := detect.Lifecycle{Container: f.Container, Cluster: f.Cluster, Host: host, Time: time.Unix(2, 0), Agent: "execguard-nri", Namespace: "prod"}
	add(detect.EncodeEnd(detect.End{Lifecycle: life, Args: []string{"sh"}, StartEntityID: "e", StartTime: "1970-01-01T00:00:01Z", ExitCode: &code, PID: 7, Detected: "resync"}))
	add(detect.EncodeCoverageAlert(life, "kata"))
	return out
}
