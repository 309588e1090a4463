//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/execguard/execguard/plugin"
	"github.com/execguard/execguard/state"
	"github.com/execguard/execguard/test/node"
)

// TestNRIPlugin runs the NRI plugin (execguard nri run) as a daemon against a real containerd
// node: a container created before execguard was installed is reported
// uncovered; pod labels reach the wrapper's events; an interactive
// container's stop writes an end event paired, through the wrapper's
// coverage mark, with its start, and a non-interactive one's none; a restart
// of containerd leaves the plugin connected with the same state.
func TestNRIPlugin(t *testing.T) { nriPlugin(t) }

func nriPlugin(t *testing.T, opts ...envOption) {
	nodeOpts := node.Options{}
	for _, o := range opts {
		o(&nodeOpts)
	}
	requirePrerequisites(t, nodeOpts.Containerd)
	dir := t.TempDir()
	e := &env{
		t:          t,
		dir:        dir,
		configPath: filepath.Join(dir, "execguard.toml"),
		eventLog:   filepath.Join(dir, "events", "events.ndjson"),
	}
	stateDir := filepath.Join(dir, "state")
	if err := os.MkdirAll(filepath.Dir(e.eventLog), 0o700); err != nil {
		t.Fatal(err)
	}
	wrapper := buildWrapper(t, dir)
	e.setAction("alert")

	// The runc handler's binary is a link that first leads to runc itself:
	// execguard is not installed yet.
	link := filepath.Join(dir, "rt", "execguard-runc")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(realRunc, link); err != nil {
		t.Fatal(err)
	}
	nodeOpts.WrapperPath, nodeOpts.WrapperConfig = link, e.configPath
	n, err := node.Start(context.Background(), nodeOpts)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	e.node = n
	checkContainerd(t, n, nodeOpts.Containerd)
	pluginLog := filepath.Join(dir, "plugin.log")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("containerd log tail:\n%s", n.LogTail(30))
			if b, err := os.ReadFile(pluginLog); err == nil {
				t.Logf("plugin log:\n%s", tail(string(b), 40))
			}
			if b, err := os.ReadFile(e.eventLog); err == nil {
				t.Logf("event log:\n%s", tail(string(b), 10))
			}
		}
		if err := n.Close(); err != nil {
			t.Errorf("close node: %v", err)
		}
	})

	legacyPod, legacyCtr := e.startPod("legacy", "old", "app")

	// Install: the wrapper takes runc's place, the plugin connects.
	tmpLink := link + ".new"
	if err := os.Symlink(wrapper, tmpLink); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmpLink, link); err != nil {
		t.Fatal(err)
	}
	startNRIPlugin(t, dir, n.NRISocket, e.configPath, pluginLog)
	st := waitStatus(t, stateDir, "the first synchronisation", func(s plugin.Status) bool {
		return s.Connected && !s.Synchronized.IsZero()
	})
	if !hasUncovered(st, legacyCtr) || slices.Contains(st.Covered, legacyCtr) {
		t.Errorf("container created before install: covered %v, uncovered %+v", st.Covered, st.Uncovered)
	}
	alerts := filter(e.events(), "alert", plugin.ActionCoverage, legacyCtr)
	if len(alerts) != 1 {
		t.Fatalf("%d coverage alerts for the container created before install, want 1", len(alerts))
	}
	check(t, "coverage alert", alerts[0], []expectation{
		{"rule.name", plugin.CoverageRuleName},
		{"rule.id", plugin.CoverageRuleID},
		{"orchestrator.resource.name", "legacy"},
		{"orchestrator.namespace", "old"},
		{"container.name", "app"},
	})
	if rec, ok, err := state.ReadContainer(stateDir, legacyCtr); err != nil || !ok || rec.PodName != "legacy" || rec.SandboxID != legacyPod {
		t.Errorf("record of the legacy container: %+v, %v, %v", rec, ok, err)
	}

	// Pod labels reach the wrapper's events: containerd's bundle annotations
	// have none, the plugin's record has them.
	labels := map[string]string{"app": "web", "tier": "frontend"}
	webPod, err := n.RunPodWithLabels("web", "shop", labels)
	if err != nil {
		t.Fatal(err)
	}
	webCtr, err := n.CreateContainer(webPod, "server", false, "sleep", "3600")
	if err != nil {
		t.Fatal(err)
	}
	mark := e.mark()
	if _, err := n.ExecTTY(webCtr, "sh", "-c", "exit 0"); err != nil {
		t.Fatal(err)
	}
	execs := filter(e.since(mark), "alert", "exec", webCtr)
	if len(execs) != 1 {
		t.Fatalf("%d exec alerts, want 1", len(execs))
	}
	check(t, "exec alert", execs[0], []expectation{
		{"orchestrator.resource.label", labels},
		{"orchestrator.resource.id", "shop-web-uid"},
		{"orchestrator.resource.name", "web"},
	})
	starts := filter(e.events(), "event", "container-start", webCtr)
	if len(starts) != 1 {
		t.Fatalf("%d container-start events for the web container, want 1", len(starts))
	}
	check(t, "container-start", starts[0], []expectation{{"orchestrator.resource.label", labels}})
	checkMark(t, stateDir, webCtr, starts[0], false)
	st = waitStatus(t, stateDir, "the web container covered", func(s plugin.Status) bool { return slices.Contains(s.Covered, webCtr) })

	// An interactive container's end pairs with its start: the wrapper's
	// mark holds the entity id and time of its container-start event. Its
	// arguments carry secrets, which neither the start nor the end records.
	ttyCtr, err := n.CreateContainer(webPod, "console", true, "sh", "-c", "sleep 3600", "sh",
		"--password", "hunter2-SECRET", "TOKEN=tok-SECRET-123", "postgres://admin:pw-SECRET@db/x")
	if err != nil {
		t.Fatal(err)
	}
	ttyStart := filter(e.events(), "event", "container-start", ttyCtr)
	if len(ttyStart) != 1 {
		t.Fatalf("%d container-start events for the tty container", len(ttyStart))
	}
	checkMark(t, stateDir, ttyCtr, ttyStart[0], true)
	if _, err := n.Crictl("stop", "--timeout", "1", ttyCtr); err != nil {
		t.Fatal(err)
	}
	ends := waitEvents(t, e, "event", plugin.ActionEnd, ttyCtr, 1)
	check(t, "end event", ends[0], []expectation{
		{"event.type", []string{"end"}},
		{"process.entity_id", ttyStart[0].str("process.entity_id")},
		{"process.entry_leader.entity_id", ttyStart[0].str("process.entity_id")},
		{"process.start", ttyStart[0].str("@timestamp")},
		{"process.interactive", true},
		{"execguard.pairing", "entity_id"},
		{"orchestrator.resource.label", labels},
		{"process.args", []string{"sh", "-c", "sleep 3600", "sh", "--password", "[REDACTED]", "TOKEN=[REDACTED]", "postgres://admin:[REDACTED]@db/x"}},
	})
	raw, err := os.ReadFile(e.eventLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(line, ttyCtr) && strings.Contains(line, "SECRET") {
			t.Errorf("a secret in a document of the tty container: %s", line)
		}
	}
	if _, err := n.Crictl("rm", ttyCtr); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, stateDir, "the removed container forgotten", func(s plugin.Status) bool {
		_, ok, _ := state.ReadContainer(stateDir, ttyCtr)
		return !ok && s.Containers == 2
	})

	// containerd restarts: the plugin reconnects and ends where it was.
	before := records(t, stateDir)
	restarted := time.Now()
	if err := n.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	st = waitStatus(t, stateDir, "the plugin reconnected and synchronised", func(s plugin.Status) bool {
		return s.Connected && s.Reconnects >= 1 && s.Synchronized.After(restarted)
	})
	if after := records(t, stateDir); !slices.Equal(after, before) {
		t.Errorf("records after the restart %v, before %v", after, before)
	}
	if !slices.Contains(st.Covered, webCtr) || !hasUncovered(st, legacyCtr) || len(st.Uncovered) != 1 || st.Containers != 2 {
		t.Errorf("status after the restart: covered %v uncovered %+v containers %d", st.Covered, st.Uncovered, st.Containers)
	}
	if got := len(filter(e.events(), "alert", plugin.ActionCoverage, legacyCtr)); got != 1 {
		t.Errorf("%d coverage alerts after the restart, want still 1", got)
	}
	if got := len(filter(e.events(), "event", plugin.ActionEnd, ttyCtr)); got != 1 {
		t.Errorf("%d end events after the restart, want still 1", got)
	}
	// And it follows the runtime again.
	lateCtr, err := n.CreateContainer(webPod, "late", false, "sleep", "3600")
	if err != nil {
		t.Fatal(err)
	}
	mark = e.mark()
	if _, err := n.ExecTTY(lateCtr, "true"); err != nil {
		t.Fatal(err)
	}
	if execs := filter(e.since(mark), "alert", "exec", lateCtr); len(execs) != 1 {
		t.Errorf("%d exec alerts after the restart", len(execs))
	} else {
		check(t, "exec alert after the restart", execs[0], []expectation{{"orchestrator.resource.label", labels}})
	}
	waitStatus(t, stateDir, "the late container covered", func(s plugin.Status) bool { return slices.Contains(s.Covered, lateCtr) })

	// A non-interactive container's stop writes no end event. The plugin
	// handles the stop (the container leaves the running covered ones) in
	// the same step as it would write one.
	if _, err := n.Crictl("stop", "--timeout", "1", lateCtr); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, stateDir, "the late container stopped", func(s plugin.Status) bool { return !slices.Contains(s.Covered, lateCtr) })
	if got := filter(e.events(), "event", plugin.ActionEnd, lateCtr); len(got) != 0 {
		t.Errorf("%d end events for a non-interactive container, want none: %v", len(got), got)
	}

	if err := n.RemovePod(legacyPod); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, stateDir, "the legacy pod forgotten", func(s plugin.Status) bool {
		_, ok, _ := state.ReadContainer(stateDir, legacyCtr)
		return !ok && len(s.Uncovered) == 0
	})
}

// TestNRIPluginPreRegistered installs the execguard binary in containerd's
// plugin directory with its drop-in configuration: containerd launches it when it
// starts, and launches a new one when it restarts.
func TestNRIPluginPreRegistered(t *testing.T) { nriPluginPreRegistered(t) }

func nriPluginPreRegistered(t *testing.T, opts ...envOption) {
	e := newEnv(t, "alert", opts...)
	n := e.node
	stateDir := filepath.Join(e.dir, "state")
	pluginLog := filepath.Join(e.dir, "plugin.log")
	buildNRIPlugin(t, filepath.Join(n.NRIPluginDir, "10-execguard"))
	conf := fmt.Sprintf("execguard_config = %q\nlog_file = %q\nlog_level = \"debug\"\nstatus_interval = \"20ms\"\n", e.configPath, pluginLog)
	if err := os.WriteFile(filepath.Join(n.NRIConfigDir, "10-execguard.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(pluginLog); err == nil && t.Failed() {
			t.Logf("plugin log:\n%s", tail(string(b), 40))
		}
	})
	_, ctrID := e.startPod("before", "shop", "app") // before the plugin: covered all the same
	restarted := time.Now()
	if err := n.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, stateDir, "containerd to launch the plugin", func(s plugin.Status) bool {
		return s.Connected && s.Synchronized.After(restarted)
	})
	if st.Mode != "pre-registered" || st.Runtime.Name != "containerd" || !slices.Contains(st.Covered, ctrID) || len(st.Uncovered) != 0 {
		t.Errorf("status: %+v", st)
	}
	first := st.PID

	labels := map[string]string{"app": "shop"}
	podID, err := n.RunPodWithLabels("labelled", "shop", labels)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := n.CreateContainer(podID, "app", false, "sleep", "3600")
	if err != nil {
		t.Fatal(err)
	}
	mark := e.mark()
	if _, err := n.ExecTTY(c2, "true"); err != nil {
		t.Fatal(err)
	}
	if execs := filter(e.since(mark), "alert", "exec", c2); len(execs) != 1 {
		t.Fatalf("%d exec alerts", len(execs))
	} else {
		check(t, "exec alert", execs[0], []expectation{{"orchestrator.resource.label", labels}})
	}

	// containerd restarts: the plugin it launched goes, a new one comes and
	// finds the same containers.
	before := records(t, stateDir)
	restarted = time.Now()
	if err := n.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	st = waitStatus(t, stateDir, "a new plugin launched and synchronised", func(s plugin.Status) bool {
		return s.Connected && s.PID != first && s.Synchronized.After(restarted)
	})
	if after := records(t, stateDir); !slices.Equal(after, before) {
		t.Errorf("records after the restart %v, before %v", after, before)
	}
	if !slices.Contains(st.Covered, ctrID) || !slices.Contains(st.Covered, c2) || len(st.Uncovered) != 0 {
		t.Errorf("status after the restart: %+v", st)
	}
	deadline := time.Now().Add(5 * time.Second)
	for plugin.Running(first) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if plugin.Running(first) {
		t.Errorf("the first plugin (pid %d) still runs", first)
	}
}

// checkMark checks the wrapper's coverage mark of a container against its
// container-start event: what the plugin pairs an end event with.
func checkMark(t *testing.T, stateDir, id string, start doc, interactive bool) {
	t.Helper()
	m, ok, err := state.ReadMark(stateDir, id)
	if err != nil || !ok {
		t.Fatalf("mark of %s: %+v, %v, %v", id, m, ok, err)
	}
	want := state.Mark{EntityID: start.str("process.entity_id"), Time: start.str("@timestamp"), Interactive: interactive}
	if m != want || m.EntityID == "" {
		t.Errorf("mark of %s = %+v, want %+v from its container-start event", id, m, want)
	}
	if got, _ := start.get("process.interactive"); got != interactive {
		t.Errorf("container-start of %s: process.interactive = %v, want %v", id, got, interactive)
	}
}

// buildNRIPlugin builds the NRI plugin, which is the execguard command
// (cmd/execguard), to bin.
func buildNRIPlugin(t *testing.T, bin string) {
	t.Helper()
	buildCommand(t, "./cmd/execguard", bin)
}

// startNRIPlugin builds execguard and runs its NRI plugin as a daemon on
// socket.
func startNRIPlugin(t *testing.T, dir, socket, execguardConfig, logFile string) {
	t.Helper()
	bin := filepath.Join(dir, "bin", "execguard")
	buildNRIPlugin(t, bin)
	cfg := filepath.Join(dir, "nri.toml")
	if err := os.WriteFile(cfg, []byte("status_interval = \"20ms\"\nlog_level = \"debug\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "nri", "run", "--config", cfg, "--socket", socket, "--execguard-config", execguardConfig, "--log-file", logFile)
	startDaemon(t, cmd, "plugin", 10*time.Second)
}

// startDaemon starts cmd and, when t ends, stops it with SIGTERM: it must
// exit cleanly within grace (what names it in failures).
func startDaemon(t *testing.T, cmd *exec.Cmd, what string, grace time.Duration) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("%s exit: %v", what, err)
			}
		case <-time.After(grace):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("%s did not stop on SIGTERM", what)
		}
	})
}

func waitStatus(t *testing.T, stateDir, what string, cond func(plugin.Status) bool) plugin.Status {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last plugin.Status
	for time.Now().Before(deadline) {
		s, ok, err := plugin.ReadStatus(stateDir)
		if err == nil && ok {
			last = s
			if cond(s) {
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last status %+v", what, last)
	return last
}

func waitEvents(t *testing.T, e *env, kind, action, ctrID string, count int) []doc {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		docs := filter(e.events(), kind, action, ctrID)
		if len(docs) >= count || time.Now().After(deadline) {
			if len(docs) != count {
				t.Fatalf("%d %s %s documents for %s, want %d", len(docs), kind, action, ctrID, count)
			}
			return docs
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hasUncovered(s plugin.Status, id string) bool {
	for _, u := range s.Uncovered {
		if u.ID == id {
			return true
		}
	}
	return false
}

// records lists the record files with their content.
func records(t *testing.T, stateDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(stateDir, "containers"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		b, err := os.ReadFile(filepath.Join(stateDir, "containers", en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, en.Name()+"="+strings.TrimSpace(string(b)))
	}
	return out
}
