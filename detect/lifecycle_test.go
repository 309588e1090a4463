package detect

import (
	"encoding/json"
	"testing"
	"time"
)

func TestEncodeEnd(t *testing.T) {
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	end := start.Add(1500 * time.Millisecond)
	code := int32(3)
	base := End{
		Lifecycle:     Lifecycle{Container: Container{ID: "c1"}, Time: end, Agent: "execguard-shim"},
		Args:          []string{"/bin/sh", "-c", "exit 3"},
		StartEntityID: "e1",
		StartTime:     start.Format(time.RFC3339Nano),
		ExitCode:      &code,
	}
	execEnd := base
	execEnd.PID, execEnd.ExecID, execEnd.NotInteractive = 4242, "x1", true
	noStart := base
	noStart.StartEntityID, noStart.StartTime = "", ""
	tests := []struct {
		name string
		end  End
		want map[string]any
	}{
		{"interactive init", base, map[string]any{
			"event.action": "end", "event.duration": 1.5e9, "process.exit_code": 3.0, "process.interactive": true,
			"process.entity_id": "e1", "process.pid": nil, "execguard.pairing": "entity_id", "process.name": "sh",
		}},
		{"exec with pid", execEnd, map[string]any{
			"process.pid": 4242.0, "execguard.exec_id": "x1", "process.interactive": false, "event.duration": 1.5e9,
		}},
		{"start unknown", noStart, map[string]any{
			"event.duration": nil, "execguard.pairing": "container.id", "process.start": nil,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf, err := EncodeEnd(tt.end)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(buf, &doc); err != nil {
				t.Fatalf("%v: %s", err, buf)
			}
			if got := field(doc, "event.type"); len(got.([]any)) != 1 || got.([]any)[0] != "end" {
				t.Errorf("event.type %v, want [end]", got)
			}
			for k, want := range tt.want {
				if got := field(doc, k); got != want {
					t.Errorf("%s = %v, want %v", k, got, want)
				}
			}
		})
	}
}
