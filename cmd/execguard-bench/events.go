package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// eventLines returns the complete lines of the event log; a log that does
// not exist yet has none.
func eventLines(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read event log: %w", err)
	}
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return nil, fmt.Errorf("event log %s ends in a partial line %q", path, data)
		}
		lines = append(lines, data[:i])
		data = data[i+1:]
	}
	return lines, nil
}

// logDoc holds the event fields the benchmark checks.
type logDoc struct {
	Event struct {
		Kind   string `json:"kind"`
		Action string `json:"action"`
	} `json:"event"`
	Container struct {
		ID string `json:"id"`
	} `json:"container"`
}

// checkExecEvents verifies that lines are exactly what execs wrapped exec
// calls into containerID should have written: per call one "event" document,
// followed by perExec-1 "alert" documents, all for action exec.
func checkExecEvents(lines [][]byte, execs, perExec int, containerID string) error {
	if want := execs * perExec; len(lines) != want {
		return fmt.Errorf("event log gained %d lines for %d wrapped execs, want %d (%d per exec)",
			len(lines), execs, want, perExec)
	}
	for i, line := range lines {
		var d logDoc
		if err := json.Unmarshal(line, &d); err != nil {
			return fmt.Errorf("event line %d: %w: %s", i+1, err, line)
		}
		wantKind := "alert"
		if i%perExec == 0 {
			wantKind = "event"
		}
		if d.Event.Kind != wantKind || d.Event.Action != "exec" || d.Container.ID != containerID {
			return fmt.Errorf("event line %d: kind %q action %q container.id %q, want kind %q action \"exec\" container.id %q",
				i+1, d.Event.Kind, d.Event.Action, d.Container.ID, wantKind, containerID)
		}
	}
	return nil
}
