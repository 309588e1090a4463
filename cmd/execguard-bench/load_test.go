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
	tests := []struct {
		labels loadLabels
		want   []string
	}{
		{wrapperLabels, []string{
			"added    median +10.0 ms (ratio 1.100)",
			"ratio load-exec-median 1.100\n",
			"ratio load-exec-p99 1.100\n",
			"  wrapped  n 4  median  110.0 ms",
			"(median no tty 110.0 ms over 3, tty 220.0 ms over 1)",
		}},
		{shimLabels, []string{
			"  added           median +10.0 ms (ratio 1.100)",
			"ratio load-exec-shim 1.100\n",
			"ratio load-exec-shim-p99 1.100\n",
			"  runc shim       n 4  median  100.0 ms",
			"  execguard shim  n 4  median  110.0 ms",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.labels.ratio, func(t *testing.T) {
			var b strings.Builder
			if err := reportLoad(&b, samples, tt.labels); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("report lacks %q:\n%s", want, out)
				}
			}
			err := reportLoad(&b, map[side][]node.ExecResult{sideDirect: samples[sideDirect]}, tt.labels)
			if err == nil || !strings.Contains(err.Error(), tt.labels.wrapped) {
				t.Errorf("a report without %s samples: error %v, want one naming the side", tt.labels.wrapped, err)
			}
		})
	}
}

func TestLoadOptionsValidate(t *testing.T) {
	ok := loadOptions{containers: 20, execs: 500, concurrency: 20, rounds: 5, ttyEvery: 5, warmup: 20}
	with := func(f func(*loadOptions)) loadOptions { o := ok; f(&o); return o }
	tests := []struct {
		name    string
		opts    loadOptions
		wantErr string
	}{
		{"wrapper", with(func(o *loadOptions) { o.wrapper = "execguard-runc" }), ""},
		{"shim", with(func(o *loadOptions) { o.shim = "containerd-shim-execguard-v2" }), ""},
		{"neither", ok, "-wrapper or -shim is required"},
		{"both", with(func(o *loadOptions) { o.wrapper, o.shim = "execguard-runc", "containerd-shim-execguard-v2" }), "give one"},
		{"more rounds than execs", with(func(o *loadOptions) { o.shim, o.rounds, o.execs = "s", 6, 5 }), "-load-rounds 6 is more than -load-execs 5"},
		{"no containers", with(func(o *loadOptions) { o.shim, o.containers = "s", 0 }), "must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
