package main

import (
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/test/node"
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

func TestReportLoad(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	results := func(tty bool, durations ...int) []node.ExecResult {
		var out []node.ExecResult
		for _, d := range durations {
			out = append(out, node.ExecResult{Exec: node.Exec{TTY: tty}, Elapsed: ms(d)})
		}
		return out
	}
	samples := map[side][]node.ExecResult{
		sideDirect:  append(results(false, 100, 100, 100), results(true, 200)...),
		sideWrapped: append(results(false, 110, 110, 110), results(true, 220)...),
	}
	var b strings.Builder
	if err := reportLoad(&b, samples); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"added    median +10.0 ms (ratio 1.100)",
		"ratio load-exec-median 1.100",
		"(median no tty 110.0 ms over 3, tty 220.0 ms over 1)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if err := reportLoad(&b, map[side][]node.ExecResult{sideDirect: samples[sideDirect]}); err == nil {
		t.Error("a report without wrapped samples did not fail")
	}
}
