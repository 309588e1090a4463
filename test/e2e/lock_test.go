//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/eventlog"
	"github.com/execguard/execguard/plugin"
	"github.com/execguard/execguard/test/engine"
)

// nriRequestTimeout is containerd's default NRI plugin request timeout: a
// plugin that takes longer to answer is closed.
const nriRequestTimeout = 2 * time.Second

// holdFlock opens path (with flags) and takes how on it; the function it
// returns lets go.
func holdFlock(t *testing.T, path string, flags, how int) func() {
	t.Helper()
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), how); err != nil {
		t.Fatal(err)
	}
	done := false
	release := func() {
		if !done {
			done = true
			_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
			f.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// TestLockedEventLog performs both lock attacks on a real containerd with
// the wrapper and the NRI plugin:
//
//   - a reader of the event log (a log shipper's group) holds a shared
//     flock on the log: execs and container starts still complete, and their
//     events reach the log, as writers lock a root-only file instead;
//   - the writers' own lock (<state_dir>/eventlog.lock) is held for longer
//     than containerd's NRI request timeout while interactive containers
//     stop: the plugin, which writes their end events off the NRI handler's
//     path, is not dropped by containerd, and every end event is in the log
//     once the lock is free.
func TestLockedEventLog(t *testing.T) {
	e := newEnv(t, "alert")
	stateDir := filepath.Join(e.dir, "state")
	pluginLog := filepath.Join(e.dir, "plugin.log")
	startNRIPlugin(t, e.dir, e.node.NRISocket, e.configPath, pluginLog)
	waitStatus(t, stateDir, "the first synchronisation", func(s plugin.Status) bool {
		return s.Connected && !s.Synchronized.IsZero()
	})
	pod, ctr := e.startPod("locks", "attack", "app")

	t.Run("reader holds the log", func(t *testing.T) {
		release := holdFlock(t, e.eventLog, os.O_RDONLY, unix.LOCK_SH)
		defer release()
		out, err := e.node.Exec(ctr, "echo", "under-a-readers-lock")
		if err != nil || strings.TrimSpace(out) != "under-a-readers-lock" {
			t.Fatalf("exec while a reader holds the log: %v, %q", err, out)
		}
		started, err := e.node.CreateContainer(pod, "started-under-lock", false, "sleep", "3600")
		if err != nil {
			t.Fatalf("container start while a reader holds the log: %v", err)
		}
		release()
		execs := 0
		for _, d := range filter(e.events(), "event", "exec", ctr) {
			if args := d.strs("process.args"); len(args) > 0 && args[len(args)-1] == "under-a-readers-lock" {
				execs++
			}
		}
		if execs != 1 {
			t.Errorf("%d exec events of the exec made under a reader's lock, want 1 in the log", execs)
		}
		if n := len(filter(e.events(), "event", "container-start", started)); n != 1 {
			t.Errorf("%d container-start events of the container started under a reader's lock, want 1 in the log", n)
		}
		if pending, _ := eventlog.Pending(stateDir); pending != 0 {
			t.Errorf("%d records spooled, want none: a reader's lock must not hold the writers", pending)
		}
	})

	t.Run("writers' lock held past the NRI timeout", func(t *testing.T) {
		writersLockHeld(t, e, e.node, stateDir, pod)
	})
}

// lockNode is what writersLockHeld drives: a node of either engine.
type lockNode interface {
	CreateContainer(podID, name string, tty bool, cmd ...string) (string, error)
	Crictl(args ...string) (string, error)
	LogFile() string
}

// writersLockHeld holds the event log writers' lock for longer than the
// runtime's NRI request timeout while three interactive containers of pod
// stop, with the NRI plugin connected: the runtime must not drop the
// plugin, and each end event must reach the log once the lock is free.
func writersLockHeld(t *testing.T, e *env, n lockNode, stateDir, pod string) {
	var ttys []string
	for _, name := range []string{"console-0", "console-1", "console-2"} {
		id, err := n.CreateContainer(pod, name, true, "sleep", "3600")
		if err != nil {
			t.Fatal(err)
		}
		ttys = append(ttys, id)
	}
	waitStatus(t, stateDir, "the consoles covered", func(s plugin.Status) bool {
		covered := 0
		for _, id := range ttys {
			for _, c := range s.Covered {
				if c == id {
					covered++
				}
			}
		}
		return covered == len(ttys)
	})
	logBefore, err := os.ReadFile(n.LogFile())
	if err != nil {
		t.Fatal(err)
	}
	held := time.Now()
	release := holdFlock(t, filepath.Join(stateDir, eventlog.LockFile), os.O_RDWR|os.O_CREATE, unix.LOCK_EX)
	for _, id := range ttys {
		if _, err := n.Crictl("stop", "--timeout", "1", id); err != nil {
			t.Fatalf("stop %s while the writers' lock is held: %v", id, err)
		}
	}
	// The lock is held past the runtime's NRI timeout, whatever the
	// stops took.
	if left := nriRequestTimeout + time.Second - time.Since(held); left > 0 {
		time.Sleep(left)
	}
	for _, id := range ttys {
		if n := len(filter(e.events(), "event", plugin.ActionEnd, id)); n != 0 {
			t.Errorf("%d end events of %s in the log while its lock is held, want none yet", n, id)
		}
	}
	release()

	for _, id := range ttys {
		waitEvents(t, e, "event", plugin.ActionEnd, id, 1)
	}
	logAfter, err := os.ReadFile(n.LogFile())
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(logAfter[len(logBefore):]), "\n") {
		if strings.Contains(line, "closing plugin") || strings.Contains(line, "failed to handle") {
			t.Errorf("the runtime dropped or failed the plugin: %s", line)
		}
	}
	st := waitStatus(t, stateDir, "the spool replayed", func(s plugin.Status) bool {
		pending, _ := eventlog.Pending(stateDir)
		return pending == 0
	})
	if !st.Connected || st.Reconnects != 0 {
		t.Errorf("plugin connected %v with %d reconnections, want connected throughout", st.Connected, st.Reconnects)
	}
}

// TestLockedEventLogCRIO holds the writers' lock past CRI-O's NRI request
// timeout while interactive containers stop, with the wrapper as the runc
// handler's runtime_path and the NRI plugin on CRI-O's NRI socket.
func TestLockedEventLogCRIO(t *testing.T) {
	requireCRIO(t)
	dir := t.TempDir()
	e := &env{t: t, dir: dir, configPath: filepath.Join(dir, config.BesideWrapper), eventLog: filepath.Join(dir, "events", "events.ndjson")}
	if err := os.MkdirAll(filepath.Dir(e.eventLog), 0o700); err != nil {
		t.Fatal(err)
	}
	e.setAction("alert")
	n, err := engine.Start(context.Background(), engine.Options{Kind: engine.CRIO, Runtime: buildWrapper(t, dir), Config: e.configPath})
	if err != nil {
		t.Fatalf("start CRI-O: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("CRI-O log tail:\n%s", n.LogTail(30))
		}
		if err := n.Close(); err != nil {
			t.Errorf("close CRI-O: %v", err)
		}
	})
	stateDir := filepath.Join(dir, "state")
	startNRIPlugin(t, dir, n.NRISocket(), e.configPath, filepath.Join(dir, "plugin.log"))
	waitStatus(t, stateDir, "the first synchronisation", func(s plugin.Status) bool {
		return s.Connected && !s.Synchronized.IsZero()
	})
	pod, err := n.RunPod("locks", "attack")
	if err != nil {
		t.Fatal(err)
	}
	writersLockHeld(t, e, n, stateDir, pod)
}
