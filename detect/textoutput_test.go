package detect

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEncodeTextOutput(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 1, 500, time.UTC)
	base := TextOutput{
		Lifecycle: Lifecycle{
			Container: Container{ID: "c1", Name: "app", PodName: "web-1", PodNamespace: "shop"},
			Host:      Host{Name: "node-1", ID: "h1"},
			Time:      at,
			Agent:     "execguard-shim",
		},
		Session: Session{
			EntityID: "E1", Start: "2026-12-02T10:00:00Z", PID: 4242, Args: []string{"/bin/sh"},
			Interactive: true, UserID: "0", ExecID: "x1",
			TTY:    TTY{Major: 136, Minor: 3, Known: true, Rows: 24, Columns: 80},
			Caller: Caller{PID: 10, Name: "containerd-shim"},
		},
	}
	tests := []struct {
		name string
		mod  func(*TextOutput)
		want map[string]any // dotted path: value
	}{
		{"text", func(o *TextOutput) { o.Text, o.Captured = "ls\r\nbin\r\n", 9 }, map[string]any{
			"event.action": "text_output", "event.kind": "event", "process.io.type": "tty",
			"process.io.text": "ls\r\nbin\r\n", "process.io.total_bytes_captured": 9.0,
			"process.io.total_bytes_skipped": 0.0, "process.io.max_bytes_per_process_exceeded": false,
			"process.entity_id": "E1", "process.pid": 4242.0, "process.name": "sh", "process.start": "2026-12-02T10:00:00Z",
			"process.entry_leader.entity_id": "E1", "process.entry_leader.start": "2026-12-02T10:00:00Z",
			"process.entry_leader.entry_meta.type": "container", "process.session_leader.entity_id": "E1",
			"process.group_leader.pid": 4242.0, "process.tty.char_device.major": 136.0, "process.tty.char_device.minor": 3.0,
			"process.tty.rows": 24.0, "process.tty.columns": 80.0, "process.user.id": "0",
			"container.id": "c1", "orchestrator.namespace": "shop", "execguard.exec_id": "x1",
			"@timestamp": "2026-12-02T10:00:01.0000005Z",
		}},
		{"over the cap", func(o *TextOutput) { o.Skipped, o.Exceeded = 4096, true }, map[string]any{
			"process.io.text": "", "process.io.total_bytes_captured": 0.0, "process.io.total_bytes_skipped": 4096.0,
			"process.io.max_bytes_per_process_exceeded": true,
		}},
		{"terminal size without device", func(o *TextOutput) { o.Session.TTY = TTY{Rows: 40, Columns: 120} }, map[string]any{
			"process.tty.rows": 40.0, "process.tty.char_device": nil,
		}},
		{"escape sequences stay escaped in JSON", func(o *TextOutput) { o.Text = "\x1b[31mred\x1b[0m\u009b" }, map[string]any{
			"process.io.text": "\x1b[31mred\x1b[0m\u009b",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.mod(&o)
			line, err := EncodeTextOutput(o)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(string(line), "\n") != 1 || line[len(line)-1] != '\n' || strings.ContainsAny(string(line[:len(line)-1]), "\x1b\r") {
				t.Fatalf("not one clean line: %q", line)
			}
			var doc map[string]any
			if err := json.Unmarshal(line, &doc); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			for path, want := range tt.want {
				got, _ := textOutputField(doc, path)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", path, got, want)
				}
			}
		})
	}
}

func textOutputField(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}
