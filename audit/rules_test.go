package audit

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/eql"
)

// The shipped EQL sequence rule: its two queries compile, the first matches
// an exec's audit event as Elastic's Kubernetes integration indexes it
// (kubernetes.audit.*), the second execguard's own exec event, and the join
// fields of the two hold the same namespace and pod.
func TestSequenceRule(t *testing.T) {
	data, err := os.ReadFile("rules/interactive_exec_kubernetes_user.toml")
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Metadata struct {
			Integration []string `toml:"integration"`
		} `toml:"metadata"`
		Rule struct {
			RuleID   string   `toml:"rule_id"`
			Name     string   `toml:"name"`
			Type     string   `toml:"type"`
			Language string   `toml:"language"`
			Index    []string `toml:"index"`
			Query    string   `toml:"query"`
		} `toml:"rule"`
	}
	if err := toml.Unmarshal(data, &rule); err != nil {
		t.Fatal(err)
	}
	r := rule.Rule
	if r.Type != "eql" || r.Language != "eql" || r.RuleID == "" || r.Name == "" || len(r.Index) != 2 {
		t.Fatalf("rule %+v", r)
	}
	m := regexp.MustCompile(`(?s)^\s*sequence with maxspan=\S+\s*\[(.*?)\]\s*by ([^\[]*?)\s*\[(.*?)\]\s*by ([^\n]*?)\s*$`).FindStringSubmatch(r.Query)
	if m == nil {
		t.Fatalf("query is not a two-step sequence with by fields:\n%s", r.Query)
	}
	auditQ, err := eql.Compile(m[1])
	if err != nil {
		t.Fatalf("audit query: %v", err)
	}
	execQ, err := eql.Compile(m[3])
	if err != nil {
		t.Fatalf("exec query: %v", err)
	}
	auditBy, execBy := splitFields(m[2]), splitFields(m[4])

	// The measured audit event as the integration indexes it.
	var ev map[string]any
	if err := json.Unmarshal([]byte(strings.Replace(measuredAudit, `"stage":"ResponseComplete"`, `"stage":"ResponseStarted"`, 1)), &ev); err != nil {
		t.Fatal(err)
	}
	auditDoc := map[string]any{
		"@timestamp": "2026-12-02T16:09:22.940Z",
		"event":      map[string]any{"dataset": "kubernetes.audit_logs", "kind": "event"},
		"kubernetes": map[string]any{"audit": ev},
	}
	// execguard's exec event of the same kubectl exec -it.
	rec := detect.Record{
		Facts: detect.Facts{
			Operation: detect.OpExec, Process: detect.Process{Args: []string{"sh"}, Terminal: true, Known: true},
			Container: detect.Container{ID: "39f893fc", Name: "app", PodName: "web", PodNamespace: "demo"},
			ExecKind:  detect.ExecEngine,
		},
		Decision: detect.Decision{Interactive: true, Action: detect.ActionAlert},
		Time:     time.Date(2026, 12, 2, 16, 9, 22, 965000000, time.UTC),
	}
	lines, err := detect.Encode(rec)
	if err != nil {
		t.Fatal(err)
	}
	var execDoc map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(string(lines), "\n", 2)[0]), &execDoc); err != nil {
		t.Fatal(err)
	}
	if !auditQ.Match(auditDoc) {
		t.Error("the audit query does not match the exec's ResponseStarted audit event")
	}
	if !execQ.Match(execDoc) {
		t.Error("the exec query does not match execguard's exec event")
	}
	// Not the other way round, not a plain exec's audit event, not the
	// ResponseComplete stage.
	if auditQ.Match(execDoc) || execQ.Match(auditDoc) {
		t.Error("a query matches the other kind of document")
	}
	ev["requestURI"] = "/api/v1/namespaces/demo/pods/web/exec?command=id&container=app&stdout=true"
	if auditQ.Match(auditDoc) {
		t.Error("the audit query matches an exec without a terminal")
	}
	if len(auditBy) != len(execBy) || len(auditBy) != 2 {
		t.Fatalf("by fields %v and %v", auditBy, execBy)
	}
	for i := range auditBy {
		a, e := lookup(auditDoc, auditBy[i]), lookup(execDoc, execBy[i])
		if a == nil || a != e {
			t.Errorf("join field %s = %v, %s = %v: want equal and present", auditBy[i], a, execBy[i], e)
		}
	}
}

func splitFields(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(f))
	}
	return out
}

func lookup(doc map[string]any, path string) any {
	var cur any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}
