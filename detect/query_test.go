package detect

import (
	"testing"

	"github.com/execguard/execguard/detect/eql"
)

// TestRuleQueriesMatchEncodedEvents runs both versions of the rule over what
// Encode writes for the calls that matter.
func TestRuleQueriesMatchEncodedEvents(t *testing.T) {
	q2023, err := eql.Compile(RuleQuery2023)
	if err != nil {
		t.Fatal(err)
	}
	q2026, err := eql.Compile(RuleQuery2026)
	if err != nil {
		t.Fatal(err)
	}
	shell := ttyExec()
	shell.Process.Args = []string{"sh"}
	id := ttyExec()
	id.Process.Args, id.Process.Terminal = []string{"id"}, false
	ttyStart := ttyExec()
	ttyStart.Operation = OpContainerStart
	alertPolicy := Policy{ActionAlert, FailOpen, ""}
	blockPolicy := Policy{ActionBlock, FailOpen, ""}

	tests := []struct {
		name      string
		facts     Facts
		policy    Policy
		match2023 bool
		match2026 bool
	}{
		{"crictl exec -it ctr sh", shell, alertPolicy, true, true},
		{"crictl exec ctr id", id, alertPolicy, false, false},
		// The 2026 rule no longer reads process.interactive: any shell exec.
		{"non-interactive sh exec", func() Facts { f := shell; f.Process.Terminal = false; return f }(), alertPolicy, false, true},
		{"blocked crictl exec -it ctr sh", shell, blockPolicy, false, false},
		{"tty container start", ttyStart, alertPolicy, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, doc := range lines(t, record(tt.facts, tt.policy)) {
				kind := field(doc, "event.kind")
				if got := q2023.Match(doc); got != tt.match2023 {
					t.Errorf("%s: 2023 query match = %v, want %v", kind, got, tt.match2023)
				}
				if got := q2026.Match(doc); got != tt.match2026 {
					t.Errorf("%s: 2026 query match = %v, want %v", kind, got, tt.match2026)
				}
			}
		})
	}
}
