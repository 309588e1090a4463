package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func doc(kind, action, id string) []byte {
	return fmt.Appendf(nil, `{"event":{"kind":%q,"action":%q},"container":{"id":%q}}`, kind, action, id)
}

func TestCheckExecEvents(t *testing.T) {
	const id = "c1"
	ev, al := doc("event", "exec", id), doc("alert", "exec", id)
	tests := []struct {
		name    string
		lines   [][]byte
		execs   int
		perExec int
		wantErr string
	}{
		{name: "two execs event+alert", lines: [][]byte{ev, al, ev, al}, execs: 2, perExec: 2},
		{name: "event only", lines: [][]byte{ev, ev, ev}, execs: 3, perExec: 1},
		{name: "none expected none seen", lines: nil, execs: 5, perExec: 0},
		{name: "missing alert", lines: [][]byte{ev, al, ev}, execs: 2, perExec: 2, wantErr: "gained 3 lines"},
		{name: "extra line", lines: [][]byte{ev, al, ev, al, ev}, execs: 2, perExec: 2, wantErr: "gained 5 lines"},
		{name: "lines seen when none expected", lines: [][]byte{ev}, execs: 1, perExec: 0, wantErr: "gained 1 lines"},
		{name: "order swapped", lines: [][]byte{al, ev}, execs: 1, perExec: 2, wantErr: "line 1"},
		{name: "two events no alert", lines: [][]byte{ev, ev}, execs: 1, perExec: 2, wantErr: "line 2"},
		{name: "wrong action", lines: [][]byte{doc("event", "container-start", id), al}, execs: 1, perExec: 2, wantErr: "line 1"},
		{name: "wrong container", lines: [][]byte{ev, doc("alert", "exec", "other")}, execs: 1, perExec: 2, wantErr: "line 2"},
		{name: "not json", lines: [][]byte{ev, []byte("oops")}, execs: 1, perExec: 2, wantErr: "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkExecEvents(tt.lines, tt.execs, tt.perExec, id)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestEventLines(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content *string
		want    int
		wantErr bool
	}{
		{name: "missing file", content: nil, want: 0},
		{name: "empty", content: ptr(""), want: 0},
		{name: "two lines", content: ptr("{}\n{}\n"), want: 2},
		{name: "partial last line", content: ptr("{}\n{"), wantErr: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("log%d", i))
			if tt.content != nil {
				if err := os.WriteFile(path, []byte(*tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			lines, err := eventLines(path)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(lines) != tt.want {
				t.Errorf("got %d lines, want %d", len(lines), tt.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }
