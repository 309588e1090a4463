package detect

import (
	"testing"

	"github.com/execguard/execguard/detect/eql"
)

// TestRuleQueriesMatchEncodedEvents runs both versions of the rule over what
// Encode writes for the calls that matter, as Elastic runs them: over the
// process stream (logs-cloud_defend.process*), where the event is and the
// alert is not, so each call matches at most once.
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
	ttyTop := ttyExec()
	ttyTop.Process.Args = []string{"top"}
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
		// A container's first process is an exec, as Defend for Containers
		// records it: kubectl run -it ... -- sh is the 2026 rule's too.
		{"tty container start, sh", ttyStart, alertPolicy, true, true},
		{"crictl exec -it ctr top", ttyTop, alertPolicy, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n2023, n2026 := 0, 0
			for _, doc := range lines(t, record(tt.facts, tt.policy)) {
				kind := field(doc, "event.kind")
				want := map[any]string{"event": Dataset, "alert": AlertsDataset}[kind]
				if ds := field(doc, "data_stream.dataset"); ds != want || field(doc, "event.dataset") != want {
					t.Errorf("%s: data_stream.dataset %v, event.dataset %v, want %s", kind, ds, field(doc, "event.dataset"), want)
				}
				if want != Dataset {
					continue
				}
				if q2023.Match(doc) {
					n2023++
				}
				if q2026.Match(doc) {
					n2026++
				}
			}
			if want := map[bool]int{true: 1}[tt.match2023]; n2023 != want {
				t.Errorf("2023 query: %d matches in the process stream, want %d", n2023, want)
			}
			if want := map[bool]int{true: 1}[tt.match2026]; n2026 != want {
				t.Errorf("2026 query: %d matches in the process stream, want %d", n2026, want)
			}
		})
	}
}
