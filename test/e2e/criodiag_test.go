//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/internal/diaglog"
	"github.com/execguard/execguard/test/engine"
	"github.com/execguard/execguard/test/node"
)

// TestCRIODiagnosticsStayOffTheExec: CRI-O runs a streaming exec's runtime
// with no --log and on the exec's own streams (the user's pty for crictl
// exec -it), and ExecSync's through conmon, which hands the runtime's
// stderr back to the client. Someone with exec rights who makes execguard
// warn (a log directory others may write, a log that cannot be written so
// the event is spooled, a broken configuration) must not read those
// warnings, with their node paths, on their terminal: they go to the
// diagnostics file under the state directory.
func TestCRIODiagnosticsStayOffTheExec(t *testing.T) {
	requireCRIO(t)
	dir := t.TempDir()
	configPath := filepath.Join(dir, "execguard.toml")
	eventsDir := filepath.Join(dir, "events")
	stateDir := filepath.Join(dir, "state")
	for _, d := range []string{eventsDir, stateDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	configText := fmt.Sprintf("event_log = %q\nstate_dir = %q\ninteractive_action = \"alert\"\nfail_mode = \"open\"\n[runtimes]\nrunc = %q\n",
		filepath.Join(eventsDir, "events.ndjson"), stateDir, realRunc)
	writeConfig := func(text string) { replaceFileMode(t, configPath, []byte(text), 0o644) }
	writeConfig(configText)

	n, err := engine.Start(context.Background(), engine.Options{Kind: engine.CRIO, Runtime: buildWrapper(t, dir), Config: configPath})
	if err != nil {
		t.Fatalf("start CRI-O node: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("engine log tail:\n%s", n.LogTail(30))
		}
		if err := n.Close(); err != nil {
			t.Errorf("close node: %v", err)
		}
	})
	pod, err := n.RunPod("diag", "attack")
	if err != nil {
		t.Fatal(err)
	}
	ctr, err := n.CreateContainer(pod, "app", false, "sleep", "3600")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		inject func(t *testing.T) (restore func())
		// warning is in the diagnostics file while the fault lasts.
		warning string
	}{
		{"event log directory writable by others", func(t *testing.T) func() {
			if err := os.Chmod(eventsDir, 0o777); err != nil {
				t.Fatal(err)
			}
			return func() { os.Chmod(eventsDir, 0o750) }
		}, "is writable by group or others (mode 0777)"},
		{"event log unwritable, events spooled", func(t *testing.T) func() {
			aside := eventsDir + ".aside"
			if err := os.Rename(eventsDir, aside); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(eventsDir, []byte("not a directory\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return func() {
				os.Remove(eventsDir)
				os.Rename(aside, eventsDir)
			}
		}, "event spooled under " + stateDir},
		{"configuration with an unknown key", func(t *testing.T) func() {
			writeConfig("colour = \"red\"\n" + configText)
			return func() { writeConfig(configText) }
		}, "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(diaglog.Path(stateDir))
			restore := tt.inject(t)
			defer restore()

			var shown []string // everything the exec's client showed or returned
			tty, err := n.ExecTTY(ctr, "sh", "-c", "echo tty-ok && sleep 0.5")
			if err != nil || !strings.Contains(tty, "tty-ok") {
				t.Fatalf("crictl exec -it: %v\n%s", err, tty)
			}
			shown = append(shown, "crictl exec -it terminal: "+tty)
			out, stderr, err := n.ExecStreams(ctr, "echo", "plain-ok")
			if err != nil || strings.TrimSpace(out) != "plain-ok" {
				t.Fatalf("crictl exec: %v, stdout %q, stderr %q", err, out, stderr)
			}
			shown = append(shown, "crictl exec stdout: "+out, "crictl exec stderr: "+stderr)
			out, stderr, err = node.ExecStreamsArgv(n.CrictlArgv("exec", "-s", ctr, "echo", "sync-ok"), ctr, 2*time.Minute)
			if err != nil || strings.TrimSpace(out) != "sync-ok" {
				t.Fatalf("crictl exec -s: %v, stdout %q, stderr %q", err, out, stderr)
			}
			shown = append(shown, "crictl exec -s stdout: "+out, "crictl exec -s stderr: "+stderr)

			for _, s := range shown {
				if strings.Contains(s, "execguard") || strings.Contains(s, dir) {
					t.Errorf("the exec's client was shown execguard's diagnostics: %q", s)
				}
			}
			lines, err := diaglog.Tail(stateDir, 100)
			if err != nil {
				t.Fatal(err)
			}
			// Three execs and no other runtime call while the fault lasts.
			var found int
			for _, l := range lines {
				if strings.Contains(l, tt.warning) {
					found++
				}
			}
			if found < 3 {
				t.Errorf("the diagnostics file has %d lines saying %q, want one per exec (3):\n%s", found, tt.warning, strings.Join(lines, "\n"))
			}
			if fi, err := os.Stat(diaglog.Path(stateDir)); err == nil && fi.Mode().Perm() != 0o600 {
				t.Errorf("diagnostics file mode %04o, want 0600", fi.Mode().Perm())
			}
		})
	}
}
