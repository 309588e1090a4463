package plugin_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/adaptation"
	"github.com/containerd/nri/pkg/api"
	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/eventlog"
	"github.com/execguard/execguard/plugin"
	"github.com/execguard/execguard/state"
)

// holdWritersLock takes the event log writers' lock under stateDir, as
// whoever could open the lock file would; the function it returns lets go.
func holdWritersLock(t *testing.T, stateDir string) func() {
	t.Helper()
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(stateDir, eventlog.LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			unix.Flock(int(f.Fd()), unix.LOCK_UN)
			f.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// endedIDs lists the container ids of the end events in the log, sorted.
func endedIDs(n *node, p *runningPlugin) []string {
	var ids []string
	for _, e := range n.events(p, plugin.ActionEnd) {
		ids = append(ids, e.str("container.id"))
	}
	sort.Strings(ids)
	return ids
}

// TestLockedLogKeepsPluginConnected: the event log writers' lock held past
// the runtime's NRI request timeout while interactive containers stop. The
// handlers queue their end events and return, so the runtime keeps the
// plugin connected; what the queue cannot take is spooled; once the lock is
// free every end event is in the log, once.
func TestLockedLogKeepsPluginConnected(t *testing.T) {
	n := newNode(t)
	rt := startRuntime(t, newProxy(t, n.socket), newCluster())
	// A queue of two: the writer waits on the lock with one document, two
	// wait in the queue, the others are spooled by their handlers.
	p := startPluginQueue(t, n.settings(), 2)
	waitSynced(t, p, time.Time{})
	dbg := pod("pod-dbg", "debug", nil)
	rt.runPod(dbg)
	var want []string
	ctrs := map[string]*api.Container{}
	for i := range 6 {
		id := fmt.Sprintf("ctr-tty-%d", i)
		c := ctr(id, dbg, "shell", true)
		rt.createCtr(dbg, c)
		n.wrapperCreate(id, "shell", true, "/bin/sh")
		rt.startCtr(dbg, c)
		ctrs[id] = c
		want = append(want, id)
	}
	sort.Strings(want)

	release := holdWritersLock(t, n.stateDir)
	for _, id := range want {
		c := ctrs[id]
		c.FinishedAt = time.Now().UnixNano()
		rt.stopCtr(dbg, c) // fails the test if the runtime's request fails
	}
	// Held past the runtime's request timeout: a handler waiting for the
	// lock would have cost the plugin its connection by now.
	time.Sleep(adaptation.DefaultPluginRequestTimeout + 500*time.Millisecond)
	if st := p.Status(); !st.Connected || st.Reconnects != 0 {
		t.Fatalf("while the log's lock is held: connected %v, reconnects %d, want connected and none", st.Connected, st.Reconnects)
	}
	release()

	waitFor(t, "the spool to be replayed", func() bool {
		pending, _ := eventlog.Pending(n.stateDir)
		return pending == 0
	})
	if got := endedIDs(n, p); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("end events for %v, want one for each of %v", got, want)
	}
	c, err := state.ReadCounters(n.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	// At least the documents the full queue could not take were spooled.
	if c.Spooled < 3 || c.Replayed != c.Spooled || c.Lost != 0 {
		t.Errorf("counters %+v, want at least 3 spooled, all replayed, none lost", c)
	}
	if st := p.Status(); !st.Connected || st.Reconnects != 0 {
		t.Errorf("after the lock is released: connected %v, reconnects %d", st.Connected, st.Reconnects)
	}
}

// TestStopDrainsQueue: a plugin stopped while the log's lock is held leaves
// its queued end events in the spool, nothing lost, and stops.
func TestStopDrainsQueue(t *testing.T) {
	n := newNode(t)
	rt := startRuntime(t, newProxy(t, n.socket), newCluster())
	p := startPlugin(t, n.settings())
	waitSynced(t, p, time.Time{})
	dbg := pod("pod-dbg", "debug", nil)
	rt.runPod(dbg)
	var want []string
	release := holdWritersLock(t, n.stateDir)
	for i := range 4 {
		id := fmt.Sprintf("ctr-tty-%d", i)
		c := ctr(id, dbg, "shell", true)
		rt.createCtr(dbg, c)
		n.wrapperCreate(id, "shell", true, "/bin/sh")
		rt.startCtr(dbg, c)
		c.FinishedAt = time.Now().UnixNano()
		rt.stopCtr(dbg, c)
		want = append(want, id)
	}
	p.stop() // fails the test if Run does not return
	pending, err := eventlog.Pending(n.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if pending != len(want) {
		t.Errorf("%d records spooled by the stopping plugin, want its %d end events", pending, len(want))
	}
	release()
	if _, err := (eventlog.Log{Path: n.eventLog, StateDir: n.stateDir}).Replay(0); err != nil {
		t.Fatal(err)
	}
	if got := endedIDs(n, p); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("end events for %v after the replay, want one for each of %v", got, want)
	}
}

// TestPluginWarnsUnsafeLogDir: the plugin writes into an event log
// directory others may write, and says so in its log and status.
func TestPluginWarnsUnsafeLogDir(t *testing.T) {
	n := newNode(t)
	if err := os.Chmod(filepath.Dir(n.eventLog), 0o777); err != nil {
		t.Fatal(err)
	}
	c := newCluster()
	web := pod("pod-web", "web", nil)
	c.addPod(web)
	old := ctr("ctr-old", web, "old", false)
	old.State = api.ContainerState_CONTAINER_RUNNING
	c.addCtr(old)
	startRuntime(t, newProxy(t, n.socket), c)
	p := startPlugin(t, n.settings())
	waitSynced(t, p, time.Time{})
	if alerts := n.events(p, plugin.ActionCoverage); len(alerts) != 1 {
		t.Fatalf("%d coverage alerts in the log, want 1", len(alerts))
	}
	if st := p.Status(); !strings.Contains(st.LastError, "writable by group or others") {
		t.Errorf("last error %q, want the log directory named unsafe", st.LastError)
	}
	if !strings.Contains(p.logText(), "event log directory unsafe") {
		t.Errorf("plugin log lacks the warning:\n%s", p.logText())
	}
}
