//go:build e2e

package e2e

import (
	"testing"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/eql"
)

// checkRules asserts whether each version of the rule matches the exec
// event (event.kind event) among docs.
func checkRules(t *testing.T, docs []doc, ctr string, want2023, want2026 bool) {
	t.Helper()
	execs := filter(docs, "event", "exec", ctr)
	if len(execs) != 1 {
		t.Fatalf("got %d exec events for %s, want 1", len(execs), ctr)
	}
	for _, r := range []struct {
		name  string
		query string
		want  bool
	}{{"2023", detect.RuleQuery2023, want2023}, {"2026", detect.RuleQuery2026, want2026}} {
		q, err := eql.Compile(r.query)
		if err != nil {
			t.Fatalf("rule %s: %v", r.name, err)
		}
		if got := q.Match(map[string]any(execs[0])); got != r.want {
			t.Errorf("rule %s matches the exec event = %v, want %v", r.name, got, r.want)
		}
	}
}
