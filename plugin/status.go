package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// StatusFile is the plugin's status under the state directory.
const StatusFile = "status.json"

// Status is what `execguard-nri status` shows: the daemon rewrites it
// (to a temporary name, then renamed) whenever it changes, at most every
// status_interval, and once more when it stops.
type Status struct {
	PID       int       `json:"pid"`
	Mode      string    `json:"mode"` // "external" or "pre-registered"
	Started   time.Time `json:"started"`
	Updated   time.Time `json:"updated"`
	Connected bool      `json:"connected"`
	// Synchronized is when the last full synchronisation with the runtime
	// ended.
	Synchronized time.Time `json:"synchronized,omitzero"`
	Runtime      Runtime   `json:"runtime"`
	Reconnects   int       `json:"reconnects"`
	LastError    string    `json:"last_error,omitempty"`
	StateDir     string    `json:"state_dir"`
	EventLog     string    `json:"event_log"`
	Pods         int       `json:"pods"`
	Containers   int       `json:"containers"`
	// Covered lists the running containers with the wrapper's mark,
	// Uncovered those without; both sorted by id.
	Covered   []string        `json:"covered"`
	Uncovered []UncoveredInfo `json:"uncovered"`
	// Sessions are the containers whose init is an interactive entry
	// leader: what their end event needs, kept across plugin restarts.
	Sessions []SessionInfo `json:"sessions,omitempty"`
}

// Runtime names the container runtime the plugin is connected to.
type Runtime struct {
	Name       string `json:"name,omitempty"`
	Version    string `json:"version,omitempty"`
	NRIVersion string `json:"nri_version,omitempty"`
}

// UncoveredInfo is one running container the wrapper does not cover.
type UncoveredInfo struct {
	ID             string    `json:"id"`
	Name           string    `json:"name,omitempty"`
	Pod            string    `json:"pod,omitempty"`
	Namespace      string    `json:"namespace,omitempty"`
	RuntimeHandler string    `json:"runtime_handler,omitempty"`
	Image          string    `json:"image,omitempty"`
	Since          time.Time `json:"since"`
	// Alerted is when the coverage alert was written.
	Alerted time.Time `json:"alerted,omitzero"`
}

// SessionInfo pairs a container's end event with its start.
type SessionInfo struct {
	ID string `json:"id"`
	startInfo
	Ended bool `json:"ended,omitempty"`
}

// StatusPath is the status file under stateDir.
func StatusPath(stateDir string) string { return filepath.Join(stateDir, StatusFile) }

// WriteStatus replaces the status file atomically.
func WriteStatus(stateDir string, s Status) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	f, err := os.CreateTemp(stateDir, ".status-*")
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(append(data, '\n'))
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("status %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, StatusPath(stateDir)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("status: %w", err)
	}
	return nil
}

// ReadStatus reads the status file; ok is false when there is none.
func ReadStatus(stateDir string) (s Status, ok bool, err error) {
	data, err := os.ReadFile(StatusPath(stateDir))
	if errors.Is(err, os.ErrNotExist) {
		return s, false, nil
	}
	if err != nil {
		return s, false, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, false, fmt.Errorf("%s: %w", StatusPath(stateDir), err)
	}
	return s, true, nil
}

// Alive reports whether the process that wrote the status still runs (a
// zombie does not).
func (s Status) Alive() bool { return Running(s.PID) }

// Running reports whether process pid exists and is not a zombie.
func Running(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		err := syscall.Kill(pid, 0)
		return err == nil || errors.Is(err, syscall.EPERM)
	}
	// The state follows the parenthesised command name, which may itself
	// hold parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || (b[i+2] != 'Z' && b[i+2] != 'X')
}
