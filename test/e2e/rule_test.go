//go:build e2e

package e2e

import (
	"testing"

	"github.com/execguard/execguard/detect/eql"
)

// Elastic's rule "Interactive Exec Command Launched Against A Running
// Container" in its 2023 and 2026 versions, as written.
const (
	rule2023 = `process where container.id : "*" and event.type== "start" and
/* use of kubectl exec to enter a container */
process.entry_leader.entry_meta.type : "container" and
/* process is the inital process run in a container */
process.entry_leader.same_as_process== true and
/* interactive process */
process.interactive == true`
	rule2026 = `process where host.os.type == "linux" and event.type == "start" and event.action == "exec" and process.name in ("bash","dash","sh","tcsh","csh","zsh","ksh","fish","busybox") and process.entry_leader.entry_meta.type == "container" and process.entry_leader.same_as_process == true and container.id like "*"`
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
	}{{"2023", rule2023, want2023}, {"2026", rule2026, want2026}} {
		q, err := eql.Compile(r.query)
		if err != nil {
			t.Fatalf("rule %s: %v", r.name, err)
		}
		if got := q.Match(map[string]any(execs[0])); got != r.want {
			t.Errorf("rule %s matches the exec event = %v, want %v", r.name, got, r.want)
		}
	}
}
