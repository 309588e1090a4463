package shim

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkExecDecision is what the shim spends on an exec before runc sees
// it: the facts from the request, the rules and the policy (configuration,
// policy and rules kept in memory, one stat each per decision), the event
// and its alert written to the log. It reports the p50 and p99 of single
// decisions besides the mean.
func BenchmarkExecDecision(b *testing.B) {
	for _, tc := range []struct {
		name string
		tty  bool
	}{{"interactive", true}, {"plain", false}} {
		b.Run(tc.name, func(b *testing.B) {
			e := newGuardEnv(b, "alert", "open")
			// Steady state: the files are older than the racy window, so
			// they are stat'ed, not read.
			later := time.Now().Add(time.Minute)
			e.g.src.now = func() time.Time { return later }
			e.create()
			req := execReq(b, "x", tc.tty, "/bin/sh", "-c", "echo hello")
			samples := make([]time.Duration, 0, b.N)
			for i := 0; b.Loop(); i++ {
				req.ExecID = fmt.Sprint("x", i)
				start := time.Now()
				v, st := e.g.exec(req)
				samples = append(samples, time.Since(start))
				if v.block || st == nil {
					b.Fatalf("exec refused: %+v", v)
				}
			}
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}
