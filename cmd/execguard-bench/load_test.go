package main

import (
	"strings"
	"testing"
)

func TestCheckLoadEvents(t *testing.T) {
	ev := func(kind, marker string, tty bool) string {
		i := "false"
		if tty {
			i = "true"
		}
		return `{"event":{"kind":"` + kind + `","action":"exec"},"process":{"args":["echo","` + marker + `"],"interactive":` + i + `}}`
	}
	start := `{"event":{"kind":"event","action":"container-start"},"process":{"args":["sleep","3600"]}}`
	wrapped := map[string]bool{"w1": false, "w2": true}
	direct := map[string]bool{"d1": false}
	tests := []struct {
		name    string
		lines   []string
		wantErr string // empty: no error
	}{
		{"one event each, an alert for the tty one", []string{start, ev("event", "w1", false), ev("event", "w2", true), ev("alert", "w2", true)}, ""},
		{"missing event", []string{ev("event", "w2", true), ev("alert", "w2", true)}, "w1 has 0 exec events"},
		{"duplicate event", []string{ev("event", "w1", false), ev("event", "w1", false), ev("event", "w2", true), ev("alert", "w2", true)}, "w1 has 2 exec events"},
		{"missing alert", []string{ev("event", "w1", false), ev("event", "w2", true)}, "w2 (tty true) has 0 exec alerts"},
		{"alert for a plain exec", []string{ev("event", "w1", false), ev("alert", "w1", false), ev("event", "w2", true), ev("alert", "w2", true)}, "w1 (tty false) has 1 exec alerts"},
		{"wrong interactivity", []string{ev("event", "w1", true), ev("event", "w2", true), ev("alert", "w2", true)}, "process.interactive true"},
		{"event for a direct exec", []string{ev("event", "w1", false), ev("event", "w2", true), ev("alert", "w2", true), ev("event", "d1", false)}, "direct exec d1"},
		{"torn line", []string{ev("event", "w1", false), `{"event":{"kind":"ev`, ev("event", "w2", true), ev("alert", "w2", true)}, "line 2 is not a JSON document"},
		{"merged lines", []string{ev("event", "w1", false) + ev("event", "w2", true), ev("alert", "w2", true)}, "more than one document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := make([][]byte, len(tt.lines))
			for i, l := range tt.lines {
				lines[i] = []byte(l)
			}
			c, err := checkLoadEvents(lines, wrapped, direct)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			case tt.wantErr == "" && c.interactive != 1:
				t.Fatalf("interactive %d, want 1", c.interactive)
			}
		})
	}
}
