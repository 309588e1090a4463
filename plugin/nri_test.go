package plugin_test

// These tests run the plugin in process against NRI's runtime side
// (pkg/adaptation), the very code containerd and CRI-O embed, over a real
// unix socket; the wrapper's part (coverage mark, container-start event) is
// done with the wrapper's own state and detect packages.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/adaptation"
	"github.com/containerd/nri/pkg/api"
	"github.com/sirupsen/logrus"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/eventlog"
	"github.com/execguard/execguard/plugin"
	"github.com/execguard/execguard/state"
)

// cluster is what the runtime side holds: the pods and containers it hands
// the plugin on synchronisation.
type cluster struct {
	mu   sync.Mutex
	pods map[string]*api.PodSandbox
	ctrs map[string]*api.Container
}

func newCluster() *cluster {
	return &cluster{pods: map[string]*api.PodSandbox{}, ctrs: map[string]*api.Container{}}
}

func (c *cluster) sync(ctx context.Context, cb adaptation.SyncCB) error {
	c.mu.Lock()
	pods := make([]*api.PodSandbox, 0, len(c.pods))
	for _, p := range c.pods {
		pods = append(pods, p)
	}
	ctrs := make([]*api.Container, 0, len(c.ctrs))
	for _, ct := range c.ctrs {
		ctrs = append(ctrs, ct)
	}
	c.mu.Unlock()
	_, err := cb(ctx, pods, ctrs)
	return err
}

func (c *cluster) addPod(p *api.PodSandbox) {
	c.mu.Lock()
	c.pods[p.Id] = p
	c.mu.Unlock()
}

func (c *cluster) addCtr(ct *api.Container) {
	c.mu.Lock()
	c.ctrs[ct.Id] = ct
	c.mu.Unlock()
}

func (c *cluster) setState(id string, s api.ContainerState) {
	c.mu.Lock()
	c.ctrs[id].State = s
	c.mu.Unlock()
}

func (c *cluster) remove(id string) {
	c.mu.Lock()
	delete(c.ctrs, id)
	delete(c.pods, id)
	c.mu.Unlock()
}

// runtimeSide is one life of the runtime's NRI side on a socket.
type runtimeSide struct {
	t     *testing.T
	a     *adaptation.Adaptation
	proxy *proxy
}

// proxy stands between the plugin and the runtime side, so that stopping
// the runtime side also closes its connections, as a runtime's exit does
// (Adaptation.Stop leaves external plugins connected).
type proxy struct {
	l        net.Listener
	upstream string
	mu       sync.Mutex
	conns    []net.Conn
}

func newProxy(t *testing.T, socket string) *proxy {
	t.Helper()
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, upstream: socket + ".rt"}
	go p.serve()
	t.Cleanup(func() { l.Close(); p.cut() })
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("unix", p.upstream)
		if err != nil {
			c.Close() // nothing listening: the runtime is down
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { io.Copy(u, c); u.Close(); c.Close() }()
		go func() { io.Copy(c, u); u.Close(); c.Close() }()
	}
}

// cut closes every proxied connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func startRuntime(t *testing.T, px *proxy, c *cluster) *runtimeSide {
	t.Helper()
	update := func(context.Context, []*api.ContainerUpdate) ([]*api.ContainerUpdate, error) { return nil, nil }
	a, err := adaptation.New("testruntime", "1.0", c.sync, update,
		adaptation.WithSocketPath(px.upstream),
		adaptation.WithPluginPath(filepath.Join(t.TempDir(), "none")),
		adaptation.WithPluginConfigPath(filepath.Join(t.TempDir(), "none")))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	r := &runtimeSide{t: t, a: a, proxy: px}
	t.Cleanup(r.stop)
	return r
}

// stop is the runtime going away: its NRI side stops, its connections close.
func (r *runtimeSide) stop() {
	r.a.Stop()
	r.proxy.cut()
}

// do sends events the way containerd does, holding off plugin
// synchronisation meanwhile, and fails the test on an error: the plugin must
// never fail a runtime request.
func (r *runtimeSide) do(what string, fn func(ctx context.Context) error) {
	r.t.Helper()
	b := r.a.BlockPluginSync()
	defer b.Unblock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := fn(ctx); err != nil {
		r.t.Fatalf("%s: runtime request failed: %v", what, err)
	}
}

func (r *runtimeSide) runPod(p *api.PodSandbox) {
	r.do("RunPodSandbox", func(ctx context.Context) error {
		return r.a.RunPodSandbox(ctx, &api.RunPodSandboxRequest{Pod: p})
	})
}

func (r *runtimeSide) createCtr(p *api.PodSandbox, c *api.Container) {
	c.State = api.ContainerState_CONTAINER_CREATED
	r.do("CreateContainer", func(ctx context.Context) error {
		_, err := r.a.CreateContainer(ctx, &api.CreateContainerRequest{Pod: p, Container: c})
		return err
	})
}

func (r *runtimeSide) startCtr(p *api.PodSandbox, c *api.Container) {
	c.State = api.ContainerState_CONTAINER_RUNNING
	r.do("StartContainer", func(ctx context.Context) error {
		return r.a.StartContainer(ctx, &api.StartContainerRequest{Pod: p, Container: c})
	})
}

func (r *runtimeSide) stopCtr(p *api.PodSandbox, c *api.Container) {
	c.State = api.ContainerState_CONTAINER_STOPPED
	r.do("StopContainer", func(ctx context.Context) error {
		_, err := r.a.StopContainer(ctx, &api.StopContainerRequest{Pod: p, Container: c})
		return err
	})
}

func (r *runtimeSide) removeCtr(p *api.PodSandbox, c *api.Container) {
	r.do("RemoveContainer", func(ctx context.Context) error {
		return r.a.RemoveContainer(ctx, &api.RemoveContainerRequest{Pod: p, Container: c})
	})
}

func (r *runtimeSide) removePod(p *api.PodSandbox) {
	r.do("RemovePodSandbox", func(ctx context.Context) error {
		return r.a.RemovePodSandbox(ctx, &api.RemovePodSandboxRequest{Pod: p})
	})
}

// node is one test's state directory and event log.
type node struct {
	t        testing.TB
	dir      string
	stateDir string
	eventLog string
	socket   string
}

func newNode(t *testing.T) *node {
	t.Helper()
	// Short: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "egnri-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return &node{t: t, dir: dir, stateDir: filepath.Join(dir, "state"),
		eventLog: filepath.Join(dir, "events.ndjson"), socket: filepath.Join(dir, "nri.sock")}
}

func (n *node) settings() plugin.Settings {
	s := plugin.DefaultSettings()
	s.ExecguardConfig = filepath.Join(n.dir, "no-execguard.toml")
	s.StateDir = n.stateDir
	s.EventLog = n.eventLog
	s.Socket = n.socket
	s.StatusInterval = plugin.Duration(5 * time.Millisecond)
	s.ClusterName = "test-cluster"
	return s
}

// runningPlugin is a plugin served by Run in the background.
type runningPlugin struct {
	*plugin.Plugin
	log  *lockedWriter
	stop func()
}

// logText is what the plugin logged so far.
func (p *runningPlugin) logText() string {
	p.log.mu.Lock()
	defer p.log.mu.Unlock()
	return p.log.w.(*bytes.Buffer).String()
}

func startPlugin(t *testing.T, s plugin.Settings) *runningPlugin {
	t.Helper()
	return startPluginQueue(t, s, plugin.QueueSize)
}

// startPluginQueue starts a plugin whose write queue holds queueSize
// documents.
func startPluginQueue(t *testing.T, s plugin.Settings, queueSize int) *runningPlugin {
	t.Helper()
	logBuf := &lockedWriter{w: &bytes.Buffer{}}
	log := logrus.New()
	log.SetOutput(logBuf)
	p, err := plugin.NewWithQueue(s, log, queueSize)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, plugin.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}) }()
	var once sync.Once
	rp := &runningPlugin{Plugin: p, log: logBuf}
	rp.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(rp.stop)
	return rp
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// waitSynced waits for a synchronisation that ended after since.
func waitSynced(t *testing.T, p *runningPlugin, since time.Time) plugin.Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		st := p.Status()
		if st.Connected && st.Synchronized.After(since) {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("plugin not synchronised since %s: %+v", since.Format(time.RFC3339Nano), p.Status())
	return plugin.Status{}
}

// wrapperCreate does what the wrapper does on a container's create: mark the
// container covered with its start facts and write its container-start
// event. It returns the start event's process.entity_id.
func (n *node) wrapperCreate(id, name string, tty bool, args ...string) string {
	n.t.Helper()
	f := detect.Facts{
		Operation:  detect.OpContainerStart,
		Subcommand: "create",
		Process:    detect.Process{Known: true, Terminal: tty, Args: args, Cwd: "/"},
		Container:  detect.Container{ID: id, Name: name, Runtime: "runc"},
	}
	pol := detect.DefaultPolicy()
	dec := detect.Decide(f, pol)
	rec := detect.Record{Facts: f, Decision: dec, Policy: pol, Host: detect.Host{Name: "h", ID: "hid"}, Time: time.Now()}
	mark := state.Mark{EntityID: detect.ProcessEntityID(rec), Time: detect.Timestamp(rec), Interactive: dec.Interactive}
	if err := state.MarkCovered(n.stateDir, id, mark); err != nil {
		n.t.Fatal(err)
	}
	buf, err := detect.Encode(rec)
	if err != nil {
		n.t.Fatal(err)
	}
	if err := eventlog.Append(n.eventLog, buf); err != nil {
		n.t.Fatal(err)
	}
	var d doc
	if err := json.Unmarshal(buf[:bytes.IndexByte(buf, '\n')], &d); err != nil {
		n.t.Fatal(err)
	}
	return d.str("process.entity_id")
}

type doc map[string]any

func (d doc) get(path string) any {
	var cur any = map[string]any(d)
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func (d doc) str(path string) string {
	s, _ := d.get(path).(string)
	return s
}

// events returns the event log's documents of one action, once the
// plugin's writer has written what it was given.
func (n *node) events(p *runningPlugin, action string) []doc {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		n.t.Fatalf("plugin's writer: %v", err)
	}
	f, err := os.Open(n.eventLog)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		n.t.Fatal(err)
	}
	defer f.Close()
	var out []doc
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var d doc
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			n.t.Fatalf("event log line is not JSON: %v: %s", err, sc.Text())
		}
		if d.str("event.action") == action {
			out = append(out, d)
		}
	}
	return out
}

func (n *node) record(id string) (state.Container, bool) {
	n.t.Helper()
	r, ok, err := state.ReadContainer(n.stateDir, id)
	if err != nil {
		n.t.Fatal(err)
	}
	return r, ok
}

// files lists what is under the state directory (relative names), with
// each record's content; status.json and the temporary files of writes
// under way (.status-*, .tmp-*) are left out.
func (n *node) files() map[string]string {
	n.t.Helper()
	out := map[string]string{}
	filepath.WalkDir(n.stateDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(path) == plugin.StatusFile || filepath.Base(path) == eventlog.LockFile || strings.HasPrefix(filepath.Base(path), ".") {
			return nil
		}
		rel, _ := filepath.Rel(n.stateDir, path)
		b, _ := os.ReadFile(path)
		out[rel] = string(b)
		return nil
	})
	return out
}

func pod(id, name string, labels map[string]string) *api.PodSandbox {
	return &api.PodSandbox{Id: id, Name: name, Namespace: "prod", Uid: name + "-uid", Labels: labels, RuntimeHandler: "runc"}
}

func ctr(id string, p *api.PodSandbox, name string, tty bool) *api.Container {
	env := []string{"PATH=/bin"}
	if tty {
		env = append(env, "TERM=xterm")
	}
	return &api.Container{
		Id: id, PodSandboxId: p.Id, Name: name, Args: []string{"/bin/sh"}, Env: env,
		Annotations: map[string]string{"io.kubernetes.cri.image-name": "docker.io/library/busybox:1.36"},
		Labels:      map[string]string{"io.kubernetes.container.name": name},
	}
}

func TestLifecycle(t *testing.T) {
	n := newNode(t)
	c := newCluster()
	// Before the plugin: one pod with a covered running container and one
	// created before execguard was installed.
	web := pod("pod-web", "web", map[string]string{"app": "web", "team": "blue"})
	c.addPod(web)
	old := ctr("ctr-old", web, "old", false)
	old.State = api.ContainerState_CONTAINER_RUNNING
	c.addCtr(old)
	kept := ctr("ctr-kept", web, "kept", false)
	kept.State = api.ContainerState_CONTAINER_RUNNING
	c.addCtr(kept)
	n.wrapperCreate("ctr-kept", "kept", false, "sleep", "1")

	rt := startRuntime(t, newProxy(t, n.socket), c)
	p := startPlugin(t, n.settings())
	st := waitSynced(t, p, time.Time{})

	if got, want := st.Covered, []string{"ctr-kept"}; !reflect.DeepEqual(got, want) {
		t.Errorf("covered = %v, want %v", got, want)
	}
	if len(st.Uncovered) != 1 || st.Uncovered[0].ID != "ctr-old" || st.Uncovered[0].Pod != "web" || st.Uncovered[0].Alerted.IsZero() {
		t.Errorf("uncovered = %+v, want ctr-old of pod web, alerted", st.Uncovered)
	}
	alerts := n.events(p, plugin.ActionCoverage)
	if len(alerts) != 1 {
		t.Fatalf("%d coverage alerts, want 1", len(alerts))
	}
	a := alerts[0]
	for path, want := range map[string]string{
		"event.kind": "alert", "rule.name": plugin.CoverageRuleName, "rule.id": plugin.CoverageRuleID,
		"container.id": "ctr-old", "container.name": "old", "container.image.name": "docker.io/library/busybox",
		"orchestrator.resource.name": "web", "orchestrator.namespace": "prod",
		"orchestrator.resource.label.app": "web", "orchestrator.cluster.name": "test-cluster",
		"execguard.runtime_handler": "runc", "agent.name": "execguard-nri",
	} {
		if got := a.str(path); got != want {
			t.Errorf("coverage alert %s = %q, want %q", path, got, want)
		}
	}
	for _, id := range []string{"ctr-old", "ctr-kept"} {
		r, ok := n.record(id)
		if !ok || r.PodName != "web" || r.PodLabels["team"] != "blue" || r.Image != "docker.io/library/busybox:1.36" {
			t.Errorf("record %s = %+v, %v", id, r, ok)
		}
	}

	// A new pod and an interactive container, the way the runtime runs them.
	dbg := pod("pod-dbg", "debug", map[string]string{"app": "debug"})
	rt.runPod(dbg)
	c.addPod(dbg)
	sh := ctr("ctr-sh", dbg, "shell", true)
	rt.createCtr(dbg, sh)
	c.addCtr(sh)
	r, ok := n.record("ctr-sh")
	if !ok || r.PodName != "debug" || r.PodNamespace != "prod" || r.PodUID != "debug-uid" ||
		!reflect.DeepEqual(r.PodLabels, map[string]string{"app": "debug"}) || r.Name != "shell" || r.RuntimeHandler != "runc" {
		t.Fatalf("record at create (before the runtime's create) = %+v, %v", r, ok)
	}
	startID := n.wrapperCreate("ctr-sh", "shell", true, "/bin/sh")
	rt.startCtr(dbg, sh)
	st = p.Status()
	if len(st.Uncovered) != 1 || !contains(st.Covered, "ctr-sh") {
		t.Errorf("after start: covered %v, uncovered %+v", st.Covered, st.Uncovered)
	}
	if cnt := len(n.events(p, plugin.ActionCoverage)); cnt != 1 {
		t.Errorf("%d coverage alerts after a covered start, want 1", cnt)
	}

	sh.FinishedAt = time.Now().UnixNano()
	sh.ExitCode = 130
	rt.stopCtr(dbg, sh)
	rt.stopCtr(dbg, sh) // containerd tells the stop and again the exit
	ends := n.events(p, plugin.ActionEnd)
	if len(ends) != 1 {
		t.Fatalf("%d end events, want 1", len(ends))
	}
	e := ends[0]
	for path, want := range map[string]string{
		"event.kind": "event", "container.id": "ctr-sh", "process.entity_id": startID,
		"process.entry_leader.entity_id": startID, "process.entry_leader.entry_meta.type": "container",
		"execguard.pairing": "entity_id", "orchestrator.resource.label.app": "debug", "process.name": "sh",
	} {
		if got := e.str(path); got != want {
			t.Errorf("end event %s = %q, want %q", path, got, want)
		}
	}
	if got := fmt.Sprint(e.get("event.type")); got != "[end]" {
		t.Errorf("end event event.type = %s", got)
	}
	if got, _ := e.get("process.exit_code").(float64); got != 130 {
		t.Errorf("end event process.exit_code = %v", e.get("process.exit_code"))
	}
	if e.str("process.start") == "" {
		t.Error("end event has no process.start")
	}

	// A non-interactive container ends without an end event.
	rt.stopCtr(web, kept)
	if cnt := len(n.events(p, plugin.ActionEnd)); cnt != 1 {
		t.Errorf("%d end events after a non-interactive stop, want 1", cnt)
	}

	rt.removeCtr(dbg, sh)
	c.remove("ctr-sh")
	if _, ok := n.record("ctr-sh"); ok {
		t.Error("record left after RemoveContainer")
	}
	if ok, _ := state.Covered(n.stateDir, "ctr-sh"); ok {
		t.Error("coverage mark left after RemoveContainer")
	}
	rt.removePod(web)
	c.remove("pod-web")
	for _, id := range []string{"ctr-old", "ctr-kept"} {
		if _, ok := n.record(id); ok {
			t.Errorf("record %s left after RemovePodSandbox", id)
		}
	}
	st = p.Status()
	if st.Containers != 0 || len(st.Uncovered) != 0 || len(st.Covered) != 0 || st.Pods != 1 {
		t.Errorf("status after removals: %+v", st)
	}
	// The status file follows.
	waitFor(t, "status.json to show no containers", func() bool {
		fs, ok, err := plugin.ReadStatus(n.stateDir)
		return err == nil && ok && fs.Containers == 0 && fs.Pods == 1 && fs.Connected
	})
}

// TestEndPairing: the plugin learns a container's start from the wrapper's
// coverage mark alone (the event log holds no start event here), and the
// TERM=xterm of its environment counts only when the mark has no start facts.
func TestEndPairing(t *testing.T) {
	start := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
	writeMark := func(m state.Mark) func(*node, string) {
		return func(n *node, id string) {
			if err := state.MarkCovered(n.stateDir, id, m); err != nil {
				n.t.Fatal(err)
			}
		}
	}
	rawMark := func(content string) func(*node, string) {
		return func(n *node, id string) {
			path, err := state.CoveredPath(n.stateDir, id)
			if err == nil {
				err = os.MkdirAll(filepath.Dir(path), 0o750)
			}
			if err == nil {
				err = os.WriteFile(path, []byte(content), 0o640)
			}
			if err != nil {
				n.t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name    string
		envTTY  bool                // TERM=xterm in the container's environment
		mark    func(*node, string) // what the wrapper leaves at create; nil: no mark
		want    map[string]any      // members of the end event; nil: no end event
		covered bool
	}{
		{name: "interactive, from the mark", mark: writeMark(state.Mark{EntityID: "eid-shell", Time: start.Format(time.RFC3339Nano), Interactive: true}),
			covered: true, want: map[string]any{
				"process.entity_id": "eid-shell", "process.entry_leader.entity_id": "eid-shell",
				"process.start": start.Format(time.RFC3339Nano), "execguard.pairing": "entity_id", "process.interactive": true,
			}},
		{name: "not interactive, TERM=xterm ignored", envTTY: true, covered: true,
			mark: writeMark(state.Mark{EntityID: "eid-plain", Time: start.Format(time.RFC3339Nano)})},
		{name: "empty mark of an older wrapper, TERM=xterm", envTTY: true, mark: rawMark(""), covered: true,
			want: map[string]any{"process.entity_id": nil, "process.start": nil, "execguard.pairing": "container.id"}},
		{name: "empty mark of an older wrapper, no TERM", mark: rawMark(""), covered: true},
		{name: "unreadable mark, TERM=xterm", envTTY: true, mark: rawMark("{torn"), covered: true,
			want: map[string]any{"process.entity_id": nil, "execguard.pairing": "container.id"}},
		{name: "no mark, TERM=xterm", envTTY: true},
	}
	n := newNode(t)
	rt := startRuntime(t, newProxy(t, n.socket), newCluster())
	p := startPlugin(t, n.settings())
	waitSynced(t, p, time.Time{})
	dbg := pod("pod-dbg", "debug", nil)
	rt.runPod(dbg)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("ctr-%d", i)
			c := ctr(id, dbg, "c", tt.envTTY)
			rt.createCtr(dbg, c)
			if tt.mark != nil {
				tt.mark(n, id)
			}
			rt.startCtr(dbg, c)
			st := p.Status()
			if got := contains(st.Covered, id); got != tt.covered {
				t.Errorf("covered = %v, want %v (status %+v)", got, tt.covered, st)
			}
			var session *plugin.SessionInfo
			for i := range st.Sessions {
				if st.Sessions[i].ID == id {
					session = &st.Sessions[i]
				}
			}
			if (session != nil) != (tt.want != nil) {
				t.Errorf("session in the status: %+v, want one: %v", session, tt.want != nil)
			}
			c.FinishedAt = time.Now().UnixNano()
			c.ExitCode = 0
			rt.stopCtr(dbg, c)
			rt.removeCtr(dbg, c)
			var ends []doc
			for _, e := range n.events(p, plugin.ActionEnd) {
				if e.str("container.id") == id {
					ends = append(ends, e)
				}
			}
			if tt.want == nil {
				if len(ends) != 0 {
					t.Fatalf("%d end events, want none: %v", len(ends), ends)
				}
				return
			}
			if len(ends) != 1 {
				t.Fatalf("%d end events, want 1", len(ends))
			}
			for path, want := range tt.want {
				if got := ends[0].get(path); got != want {
					t.Errorf("end event %s = %v, want %v", path, got, want)
				}
			}
			if wantID, _ := tt.want["process.entity_id"].(string); session != nil && session.EntityID != wantID {
				t.Errorf("session entity id %q in the status, want %q", session.EntityID, wantID)
			}
		})
	}
	if alerts := n.events(p, plugin.ActionCoverage); len(alerts) != 1 || alerts[0].str("container.id") != fmt.Sprintf("ctr-%d", len(tests)-1) {
		t.Errorf("coverage alerts %v, want one, for the container without a mark", alerts)
	}
	if st := p.Status(); !strings.Contains(st.LastError, "covered") {
		t.Errorf("last error %q, want the unreadable mark named", st.LastError)
	}
}

// TestEndWhileAway: containers created and stopped while no plugin ran; the
// first synchronisation writes the end event an interactive one's mark calls
// for, once, and none for the others.
func TestEndWhileAway(t *testing.T) {
	n := newNode(t)
	c := newCluster()
	web := pod("pod-web", "web", nil)
	c.addPod(web)
	startIDs := map[string]string{}
	for _, tc := range []struct {
		id       string
		tty, env bool
		covered  bool
	}{
		{"ctr-shell", true, false, true}, {"ctr-plain", false, true, true}, {"ctr-uncovered", true, true, false},
	} {
		ct := ctr(tc.id, web, tc.id, tc.env)
		ct.State = api.ContainerState_CONTAINER_STOPPED
		ct.FinishedAt = time.Now().UnixNano()
		ct.ExitCode = 3
		c.addCtr(ct)
		if tc.covered {
			startIDs[tc.id] = n.wrapperCreate(tc.id, tc.id, tc.tty, "/bin/sh")
		}
	}
	rt := startRuntime(t, newProxy(t, n.socket), c)
	p := startPlugin(t, n.settings())
	waitSynced(t, p, time.Time{})
	ends := n.events(p, plugin.ActionEnd)
	if len(ends) != 1 {
		t.Fatalf("%d end events, want 1 (the interactive container's): %v", len(ends), ends)
	}
	for path, want := range map[string]any{
		"container.id": "ctr-shell", "process.entity_id": startIDs["ctr-shell"], "execguard.pairing": "entity_id",
		"execguard.detected": "resync", "process.exit_code": float64(3),
	} {
		if got := ends[0].get(path); got != want {
			t.Errorf("end event %s = %v, want %v", path, got, want)
		}
	}
	// The runtime's own stop and removal that follow add none.
	rt.stopCtr(web, c.ctrs["ctr-shell"])
	rt.removeCtr(web, c.ctrs["ctr-shell"])
	if got := len(n.events(p, plugin.ActionEnd)); got != 1 {
		t.Errorf("%d end events after the stop and removal, want still 1", got)
	}
}

func TestRuntimeRestart(t *testing.T) {
	n := newNode(t)
	c := newCluster()
	web := pod("pod-web", "web", map[string]string{"app": "web"})
	c.addPod(web)
	mk := func(id string, tty, covered bool) *api.Container {
		ct := ctr(id, web, id, tty)
		ct.State = api.ContainerState_CONTAINER_RUNNING
		c.addCtr(ct)
		if covered {
			n.wrapperCreate(id, id, tty, "/bin/sh")
		}
		return ct
	}
	mk("ctr-stays", false, true)
	mk("ctr-goes", false, true)
	mk("ctr-uncovered", false, false)
	tty := mk("ctr-tty", true, true)
	mk("ctr-tty-removed", true, true)

	px := newProxy(t, n.socket)
	rt := startRuntime(t, px, c)
	p := startPlugin(t, n.settings())
	waitSynced(t, p, time.Time{})

	// The runtime goes away; while it is away, containers change.
	rt.stop()
	waitFor(t, "the plugin to see the disconnection", func() bool { return !p.Status().Connected })
	c.remove("ctr-goes")
	c.remove("ctr-tty-removed")
	c.setState("ctr-tty", api.ContainerState_CONTAINER_STOPPED)
	tty.FinishedAt = time.Now().UnixNano()
	c.addCtr(ctr("ctr-new", web, "new", false))
	c.setState("ctr-new", api.ContainerState_CONTAINER_RUNNING)
	n.wrapperCreate("ctr-new", "new", false, "sleep")
	// A record left by a plugin run that never saw its container removed.
	if err := state.WriteContainer(n.stateDir, state.Container{ID: "ctr-ghost"}); err != nil {
		t.Fatal(err)
	}

	back := time.Now()
	startRuntime(t, px, c)
	st := waitSynced(t, p, back)
	if st.Reconnects != 1 {
		t.Errorf("reconnects = %d, want 1", st.Reconnects)
	}
	if got, want := st.Covered, []string{"ctr-new", "ctr-stays"}; !reflect.DeepEqual(got, want) {
		t.Errorf("covered = %v, want %v", got, want)
	}
	if len(st.Uncovered) != 1 || st.Uncovered[0].ID != "ctr-uncovered" {
		t.Errorf("uncovered = %+v", st.Uncovered)
	}
	if cnt := len(n.events(p, plugin.ActionCoverage)); cnt != 1 {
		t.Errorf("%d coverage alerts after the reconnection, want 1 (no duplicate)", cnt)
	}
	ends := n.events(p, plugin.ActionEnd)
	var ended []string
	for _, e := range ends {
		ended = append(ended, e.str("container.id"))
		if e.str("execguard.detected") != "resync" || e.str("execguard.pairing") != "entity_id" {
			t.Errorf("end event found on resync: %v", e)
		}
	}
	sort.Strings(ended)
	if want := []string{"ctr-tty", "ctr-tty-removed"}; !reflect.DeepEqual(ended, want) {
		t.Errorf("end events for %v, want %v (the ends missed while disconnected, once each)", ended, want)
	}
	afterResync := n.files()
	wantFiles := []string{
		"containers/ctr-new.json", "containers/ctr-stays.json", "containers/ctr-tty.json", "containers/ctr-uncovered.json",
		"covered/ctr-new", "covered/ctr-stays", "covered/ctr-tty",
	}
	if got := keys(afterResync); !reflect.DeepEqual(got, wantFiles) {
		t.Errorf("state after resync:\n got %v\nwant %v", got, wantFiles)
	}
	waitFor(t, "status.json to show the reconnection", func() bool {
		fs, ok, _ := plugin.ReadStatus(n.stateDir)
		return ok && fs.Reconnects == 1 && fs.Connected
	})
	p.stop()

	// A fresh start from nothing but the records on disk ends the same.
	for name := range afterResync {
		if strings.HasPrefix(name, "containers/") {
			os.Remove(filepath.Join(n.stateDir, name))
		}
	}
	fresh := time.Now()
	p2 := startPlugin(t, n.settings())
	st2 := waitSynced(t, p2, fresh)
	if !reflect.DeepEqual(n.files(), afterResync) {
		t.Errorf("fresh start state differs:\n got %v\nwant %v", n.files(), afterResync)
	}
	if !reflect.DeepEqual(st2.Covered, st.Covered) || len(st2.Uncovered) != 1 || st2.Uncovered[0].ID != "ctr-uncovered" {
		t.Errorf("fresh start status: covered %v uncovered %+v", st2.Covered, st2.Uncovered)
	}
	if cnt := len(n.events(p2, plugin.ActionCoverage)); cnt != 1 {
		t.Errorf("%d coverage alerts after a fresh start, want 1: it was written before", cnt)
	}
	if cnt := len(n.events(p2, plugin.ActionEnd)); cnt != 2 {
		t.Errorf("%d end events after a fresh start, want 2: no end twice", cnt)
	}
}

func TestBadInput(t *testing.T) {
	n := newNode(t)
	c := newCluster()
	rt := startRuntime(t, newProxy(t, n.socket), c)
	p := startPlugin(t, n.settings())
	waitSynced(t, p, time.Time{})

	// Names that would leave the state directory.
	bare := &api.PodSandbox{Id: "pod-bare"}
	rt.runPod(bare)
	for _, id := range []string{"../escape", "a/b", "..", ".", "", "/abs"} {
		ct := &api.Container{Id: id, PodSandboxId: "pod-bare", Name: "../../x"}
		rt.createCtr(bare, ct)
		rt.startCtr(bare, ct)
		rt.stopCtr(bare, ct)
		rt.removeCtr(bare, ct)
	}
	if err := filepath.WalkDir(n.dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(path, "escape") {
			t.Errorf("file outside the records: %s", path)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(n.dir), "escape.json")); err == nil {
		t.Error("a record escaped the state directory")
	}

	// No labels, no annotations, no pod.
	plain := &api.Container{Id: "ctr-plain"}
	rt.createCtr(bare, plain)
	if r, ok := n.record("ctr-plain"); !ok || r.ID != "ctr-plain" || len(r.PodLabels) != 0 {
		t.Errorf("record of a bare container = %+v, %v", r, ok)
	}

	// A very large label set is bounded.
	labels := map[string]string{}
	for i := range 5000 {
		labels[fmt.Sprintf("example.com/label-%05d", i)] = strings.Repeat("v", 63)
	}
	labels[strings.Repeat("k", 2000)] = "too long a key"
	big := pod("pod-big", "big", labels)
	rt.runPod(big)
	bc := ctr("ctr-big", big, "big", false)
	rt.createCtr(big, bc)
	r, ok := n.record("ctr-big")
	if !ok || len(r.PodLabels) == 0 || len(r.PodLabels) > 256 {
		t.Fatalf("record with 5001 labels: %d labels, %v", len(r.PodLabels), ok)
	}
	if _, ok := r.PodLabels["example.com/label-00000"]; !ok {
		t.Error("bounded labels do not keep the first keys in order")
	}
	if info, _ := os.Stat(filepath.Join(n.stateDir, "containers", "ctr-big.json")); info.Size() > 100<<10 {
		t.Errorf("record of %d bytes", info.Size())
	}

	// The state directory becomes unwritable: a clear error, the plugin
	// keeps serving, the runtime's requests still succeed. The plugin may
	// be writing its status file meanwhile: removing can race with it.
	var rmErr error
	for range 50 {
		if rmErr = os.RemoveAll(n.stateDir); rmErr == nil {
			if rmErr = os.WriteFile(n.stateDir, []byte("not a directory"), 0o600); rmErr == nil {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if rmErr != nil {
		t.Fatal(rmErr)
	}
	broken := ctr("ctr-broken", big, "broken", false)
	rt.createCtr(big, broken)
	rt.startCtr(big, broken)
	st := p.Status()
	if !st.Connected || !strings.Contains(st.LastError, n.stateDir) {
		t.Errorf("with an unwritable state dir: connected %v, last error %q (want it to name %s)", st.Connected, st.LastError, n.stateDir)
	}
	if err := os.Remove(n.stateDir); err != nil {
		t.Fatal(err)
	}
	// Once the directory can be written again, events publish again.
	fixed := ctr("ctr-fixed", big, "fixed", false)
	rt.createCtr(big, fixed)
	if _, ok := n.record("ctr-fixed"); !ok {
		t.Error("no record after the state directory came back")
	}
	if !p.Status().Connected {
		t.Error("plugin lost its connection")
	}
}

func TestMetrics(t *testing.T) {
	n := newNode(t)
	c := newCluster()
	old := pod("pod-a", "a", nil)
	c.addPod(old)
	oc := ctr("ctr-a", old, "a", false)
	oc.State = api.ContainerState_CONTAINER_RUNNING
	c.addCtr(oc)
	rt := startRuntime(t, newProxy(t, n.socket), c)
	s := n.settings()
	s.MetricsAddress = "127.0.0.1:0"
	p := startPlugin(t, s)
	waitSynced(t, p, time.Time{})
	nc := ctr("ctr-b", old, "b", false)
	rt.createCtr(old, nc)
	n.wrapperCreate("ctr-b", "b", false, "sleep")
	rt.startCtr(old, nc)

	addr := p.MetricsAddr()
	if addr == nil {
		t.Fatal("metrics not served")
	}
	n.events(p, plugin.ActionCoverage) // the writer counts what it wrote
	body := scrape(t, "http://"+addr.String()+"/metrics")
	for _, want := range []string{
		`execguard_nri_events_total{event="synchronize",outcome="ok"} 1`,
		`execguard_nri_events_total{event="create_container",outcome="ok"} 1`,
		`execguard_nri_events_total{event="start_container",outcome="ok"} 1`,
		`execguard_nri_documents_total{action="coverage",kind="alert",outcome="ok"} 1`,
		`execguard_nri_containers{coverage="covered"} 1`,
		`execguard_nri_containers{coverage="uncovered"} 1`,
		`execguard_nri_connected 1`,
		`execguard_nri_reconnects_total 0`,
		`execguard_nri_event_duration_seconds_count{event="start_container"} 1`,
		`execguard_nri_write_queue_length 0`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkNRIRoundTrip is one container's life as the runtime side sends
// it over the NRI connection (ttrpc over a unix socket), with 1,000
// containers indexed: what a runtime waits for, per event.
func BenchmarkNRIRoundTrip(b *testing.B) {
	dir, err := os.MkdirTemp("", "egnri-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	n := &node{t: b, dir: dir, stateDir: filepath.Join(dir, "state"), eventLog: filepath.Join(dir, "events.ndjson"), socket: filepath.Join(dir, "nri.sock")}
	c := newCluster()
	web := pod("pod-web", "web", map[string]string{"app": "web", "team": "blue"})
	c.addPod(web)
	for i := range 1000 {
		ct := ctr(fmt.Sprintf("%064x", i), web, "c", false)
		ct.State = api.ContainerState_CONTAINER_RUNNING
		c.addCtr(ct)
	}
	// No proxy: the plugin connects to the runtime side directly.
	update := func(context.Context, []*api.ContainerUpdate) ([]*api.ContainerUpdate, error) { return nil, nil }
	a, err := adaptation.New("benchruntime", "1.0", c.sync, update, adaptation.WithSocketPath(n.socket),
		adaptation.WithPluginPath(filepath.Join(dir, "none")), adaptation.WithPluginConfigPath(filepath.Join(dir, "none")))
	if err != nil || a.Start() != nil {
		b.Fatal("runtime side", err)
	}
	defer a.Stop()
	log := logrus.New()
	log.SetOutput(io.Discard)
	s := n.settings()
	s.StatusInterval = plugin.Duration(plugin.DefaultStatusInterval)
	p, err := plugin.New(s, log)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		p.Run(ctx, plugin.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond})
		close(done)
	}()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); p.Status().Synchronized.IsZero(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("not synchronised")
		}
	}
	var lat []time.Duration
	kinds := map[int][]time.Duration{}
	k := 0
	timed := func(fn func(context.Context) error) {
		blk := a.BlockPluginSync()
		defer blk.Unblock()
		start := time.Now()
		if err := fn(context.Background()); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		kinds[k%4] = append(kinds[k%4], time.Since(start))
		k++
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ct := ctr(fmt.Sprintf("bench-%d", i), web, "shell", i%2 == 0)
		ct.State = api.ContainerState_CONTAINER_CREATED
		timed(func(ctx context.Context) error {
			_, err := a.CreateContainer(ctx, &api.CreateContainerRequest{Pod: web, Container: ct})
			return err
		})
		b.StopTimer()
		n.wrapperCreate(ct.Id, "shell", i%2 == 0, "/bin/sh")
		b.StartTimer()
		ct.State = api.ContainerState_CONTAINER_RUNNING
		timed(func(ctx context.Context) error {
			return a.StartContainer(ctx, &api.StartContainerRequest{Pod: web, Container: ct})
		})
		ct.State = api.ContainerState_CONTAINER_STOPPED
		timed(func(ctx context.Context) error {
			_, err := a.StopContainer(ctx, &api.StopContainerRequest{Pod: web, Container: ct})
			return err
		})
		timed(func(ctx context.Context) error {
			return a.RemoveContainer(ctx, &api.RemoveContainerRequest{Pod: web, Container: ct})
		})
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) }
	b.ReportMetric(pct(0.5), "p50-µs/event")
	b.ReportMetric(pct(0.99), "p99-µs/event")
	for i, name := range []string{"create", "start", "stop", "remove"} {
		d := kinds[i]
		sort.Slice(d, func(x, y int) bool { return d[x] < d[y] })
		b.ReportMetric(float64(d[min(len(d)-1, int(float64(len(d))*0.99))].Microseconds()), "p99-µs/"+name)
	}
}
