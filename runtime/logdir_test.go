package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWrapperWarnsUnsafeLogDir: an event log directory others may write
// (they could replace the log) still gets the event, and the runtime's log
// says what is wrong with it.
func TestWrapperWarnsUnsafeLogDir(t *testing.T) {
	for _, tt := range []struct {
		mode uint32
		warn bool
	}{{0o750, false}, {0o755, false}, {0o777, true}, {0o1777, true}, {0o770, true}} {
		mode := tt.mode
		e := newEnv(t)
		e.config("alert", "open", e.probe)
		dir := filepath.Dir(e.events)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := unix.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		args, bundle, _ := e.containerdExec(ttyProcess)
		if r := e.run(args...); e.probed() == nil {
			t.Fatalf("mode %04o: runtime did not run (exit %d, stderr %q)", mode, r.code, r.stderr)
		}
		if n := len(e.eventDocs()); n != 2 {
			t.Errorf("mode %04o: %d documents in the log, want the event and its alert", mode, n)
		}
		logged, _ := os.ReadFile(filepath.Join(bundle, "log.json"))
		warned := strings.Contains(string(logged), "writable by group or others") && strings.Contains(string(logged), `"level":"warning"`)
		if warned != tt.warn {
			t.Errorf("mode %04o: runtime log %q, want a warning that the log's directory is writable by others: %v", mode, logged, tt.warn)
		}
	}
}
