package main

// The pre-registered way, whole: NRI's runtime side (pkg/adaptation, as
// containerd and CRI-O embed it) finds the built execguard binary in its
// plugin directory, launches it without arguments and with
// NRI_PLUGIN_SOCKET, and hands it its configuration file from the drop-in
// directory.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/adaptation"
	"github.com/containerd/nri/pkg/api"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/plugin"
	"github.com/execguard/execguard/state"
)

// maxRSS is the resident memory target with 1,000 containers indexed.
const maxRSS = 30 << 20

func buildPlugin(t *testing.T, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
}

// node makes n running containers in n/10 pods, each pod with a few labels.
func nodeContents(n int) ([]*api.PodSandbox, []*api.Container) {
	var pods []*api.PodSandbox
	var ctrs []*api.Container
	for i := range n {
		if i%10 == 0 {
			pods = append(pods, &api.PodSandbox{
				Id: fmt.Sprintf("pod%04d%058d", i/10, 0), Name: fmt.Sprintf("app-%d-7d9f8b6c5-x2x4z", i/10), Namespace: "team-" + strconv.Itoa(i%7),
				Uid: fmt.Sprintf("%08d-aaaa-bbbb-cccc-%012d", i, i), RuntimeHandler: "runc",
				Labels: map[string]string{
					"app.kubernetes.io/name": "app", "app.kubernetes.io/instance": fmt.Sprintf("app-%d", i/10),
					"app.kubernetes.io/version": "1.2.3", "pod-template-hash": "7d9f8b6c5", "team": "payments",
				},
			})
		}
		pod := pods[len(pods)-1]
		ctrs = append(ctrs, &api.Container{
			Id: fmt.Sprintf("%064x", i+1), PodSandboxId: pod.Id, Name: fmt.Sprintf("c%d", i%10),
			State: api.ContainerState_CONTAINER_RUNNING, Args: []string{"/app/server", "--port", "8080"},
			Env:         []string{"PATH=/usr/bin:/bin", "HOME=/root"},
			Annotations: map[string]string{"io.kubernetes.cri.image-name": "registry.example/team/app:1.2.3"},
		})
	}
	return pods, ctrs
}

func TestPreRegistered(t *testing.T) {
	dir, err := os.MkdirTemp("", "egnri-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pluginDir, confDir := filepath.Join(dir, "plugins"), filepath.Join(dir, "conf.d")
	stateDir, eventLog := filepath.Join(dir, "state"), filepath.Join(dir, "events.ndjson")
	for _, d := range []string{pluginDir, confDir} {
		os.MkdirAll(d, 0o755)
	}
	buildPlugin(t, filepath.Join(pluginDir, "10-execguard"))
	conf := fmt.Sprintf("execguard_config = %q\nstate_dir = %q\nevent_log = %q\nlog_file = %q\nlog_level = \"debug\"\nstatus_interval = \"10ms\"\n",
		filepath.Join(dir, "none.toml"), stateDir, eventLog, filepath.Join(dir, "plugin.log"))
	if err := os.WriteFile(filepath.Join(confDir, "10-execguard.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	pods, ctrs := nodeContents(1000)
	// Half of them the wrapper covers; one in ten of those is interactive.
	marks := map[string]state.Mark{}
	for i, c := range ctrs[:500] {
		m := wrapperMark(c.Id, i%10 == 0)
		if err := state.MarkCovered(stateDir, c.Id, m); err != nil {
			t.Fatal(err)
		}
		marks[c.Id] = m
	}
	sync := func(ctx context.Context, cb adaptation.SyncCB) error {
		_, err := cb(ctx, pods, ctrs)
		return err
	}
	update := func(context.Context, []*api.ContainerUpdate) ([]*api.ContainerUpdate, error) { return nil, nil }
	r, err := adaptation.New("testruntime", "1.0", sync, update,
		adaptation.WithPluginPath(pluginDir), adaptation.WithPluginConfigPath(confDir),
		adaptation.WithDisabledExternalConnections())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "plugin.log"))
			t.Logf("plugin log:\n%s", tail(string(b), 30))
		}
	})

	var st plugin.Status
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, ok, _ := plugin.ReadStatus(stateDir)
		if ok && s.Connected && !s.Synchronized.IsZero() && s.Containers == 1000 {
			st = s
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin did not report 1000 containers synchronised: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.Mode != "pre-registered" || st.Runtime.Name != "testruntime" || len(st.Covered) != 500 || len(st.Uncovered) != 500 {
		t.Errorf("status: mode %q runtime %+v covered %d uncovered %d", st.Mode, st.Runtime, len(st.Covered), len(st.Uncovered))
	}
	if ids, err := state.ListContainers(stateDir); err != nil || len(ids) != 1000 {
		t.Errorf("%d records, want 1000 (%v)", len(ids), err)
	}
	// The interactive ones are known from their marks, ready for their end.
	if len(st.Sessions) != 50 {
		t.Errorf("%d interactive sessions, want 50", len(st.Sessions))
	}
	for _, s := range st.Sessions {
		m := marks[s.ID]
		if !m.Interactive || s.EntityID != m.EntityID || s.Time.UTC().Format(time.RFC3339Nano) != m.Time || s.Source != "mark" || s.Ended {
			t.Errorf("session %+v, mark %+v", s, m)
		}
	}

	rss := residentBytes(t, st.PID)
	t.Logf("plugin resident memory with 1000 containers indexed: %.1f MiB", float64(rss)/(1<<20))
	if rss > maxRSS {
		t.Errorf("resident memory %d bytes, want at most %d", rss, maxRSS)
	}

	// Events reach the launched plugin.
	pod := pods[0]
	c := &api.Container{Id: "new-container", PodSandboxId: pod.Id, Name: "new", State: api.ContainerState_CONTAINER_CREATED}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.CreateContainer(ctx, &api.CreateContainerRequest{Pod: pod, Container: c}); err != nil {
		t.Fatal(err)
	}
	rec, ok, err := state.ReadContainer(stateDir, "new-container")
	if err != nil || !ok || rec.PodLabels["team"] != "payments" || rec.PodName != pod.Name {
		t.Errorf("record of a new container: %+v, %v, %v", rec, ok, err)
	}
	// An interactive container's stop: its end event carries its mark's
	// entity id; a non-interactive one's writes none. The plugin writes off
	// the handler's path, in order: a third stop, of another interactive
	// container, is the sentinel whose end event says the two before it
	// have been written too.
	stops := []struct {
		pod *api.PodSandbox
		ctr *api.Container
	}{{pods[0], ctrs[0]}, {pods[0], ctrs[1]}, {pods[1], ctrs[10]}}
	for _, sc := range stops {
		sc.ctr.State = api.ContainerState_CONTAINER_STOPPED
		if _, err := r.StopContainer(ctx, &api.StopContainerRequest{Pod: sc.pod, Container: sc.ctr}); err != nil {
			t.Fatal(err)
		}
	}
	endOf := func(line []byte, c *api.Container) bool {
		return bytes.Contains(line, []byte(`"type":["end"]`)) && bytes.Contains(line, []byte(fmt.Sprintf(`"container":{"id":%q`, c.Id)))
	}
	var log []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if log, err = os.ReadFile(eventLog); err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(bytes.Split(log, []byte("\n")), func(l []byte) bool { return endOf(l, ctrs[10]) }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no end event of interactive container %s within 10 s:\n%s", ctrs[10].Id, log)
		}
	}
	ends := map[string]int{}
	for _, line := range bytes.Split(log, []byte("\n")) {
		for _, c := range []*api.Container{ctrs[0], ctrs[1], ctrs[10]} {
			if !endOf(line, c) {
				continue
			}
			ends[c.Id]++
			if m := marks[c.Id]; !bytes.Contains(line, []byte(`"entity_id":"`+m.EntityID+`"`)) {
				t.Errorf("end event of %s without its mark's entity id %s: %s", c.Id, m.EntityID, line)
			}
		}
	}
	if got := bytes.Count(log, []byte(`"type":["end"]`)); got != 2 || ends[ctrs[0].Id] != 1 || ends[ctrs[1].Id] != 0 || ends[ctrs[10].Id] != 1 {
		t.Errorf("%d end events (%v), want one each of %s and %s, none of non-interactive %s:\n%s", got, ends, ctrs[0].Id, ctrs[10].Id, ctrs[1].Id, log)
	}

	// The status command reads what the daemon keeps.
	var out, errOut bytes.Buffer
	code := run([]string{"nri", "status", "--config", filepath.Join(confDir, "10-execguard.conf")}, nil, &out, &errOut)
	if code != 3 || !strings.Contains(out.String(), "connected (pre-registered") ||
		!strings.Contains(out.String(), "500 running uncovered") || !strings.Contains(out.String(), "not covered by execguard") {
		t.Errorf("status exit %d:\n%s%s", code, out.String(), errOut.String())
	}
}

// wrapperMark is the coverage mark the wrapper leaves at a container's
// create, computed as the wrapper computes it.
func wrapperMark(id string, tty bool) state.Mark {
	f := detect.Facts{
		Operation: detect.OpContainerStart, Subcommand: "create",
		Process:   detect.Process{Known: true, Terminal: tty, Args: []string{"/app/server"}},
		Container: detect.Container{ID: id},
	}
	pol := detect.DefaultPolicy()
	d := detect.Decide(f, pol)
	rec := detect.Record{Facts: f, Decision: d, Policy: pol, Time: time.Now()}
	return state.Mark{EntityID: detect.ProcessEntityID(rec), Time: detect.Timestamp(rec), Interactive: d.Interactive}
}

// residentBytes reads a process's VmRSS.
func residentBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func TestStatusWithoutDaemon(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run([]string{"nri", "status", "--config", filepath.Join(dir, "none.toml"), "--state-dir", dir}, nil, &out, &errOut); code != 2 {
		// A named configuration file that does not exist is an error.
		t.Errorf("missing -config: exit %d: %s", code, errOut.String())
	}
	cfg := filepath.Join(dir, "nri.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("state_dir = %q\nexecguard_config = %q\n", dir, filepath.Join(dir, "none"))), 0o644)
	out.Reset()
	errOut.Reset()
	if code := run([]string{"nri", "status", "--config", cfg}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no status") {
		t.Errorf("no status file: exit %d: %s", code, errOut.String())
	}
	// A status left by a plugin that is gone.
	plugin.WriteStatus(dir, plugin.Status{PID: 1 << 30, Connected: true, StateDir: dir})
	out.Reset()
	if code := run([]string{"nri", "status", "--config", cfg}, nil, &out, &errOut); code != 1 || !strings.Contains(out.String(), "not running") {
		t.Errorf("stale status: exit %d:\n%s", code, out.String())
	}
	if code := run([]string{"nri", "bogus"}, nil, &out, &errOut); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Uncovered containers of a pod made through CRI with terminal escapes in
// its names are listed escaped.
func TestStatusNamesEscaped(t *testing.T) {
	var out bytes.Buffer
	printNRIStatus(&out, plugin.Status{PID: os.Getpid(), Connected: true, LastError: "bad\x1b[2J",
		Uncovered: []plugin.UncoveredInfo{{ID: "abc\x1b]0;x\x07", Name: "app\x1b[8m", Namespace: "ns\x1b[31m", Pod: "web\u202e"}}})
	if strings.ContainsAny(out.String(), "\x1b\x07\u202e") {
		t.Fatalf("raw control characters in status:\n%q", out.String())
	}
	for _, want := range []string{`ns\x1b[31m/web\u202e`, `app\x1b[8m`, `bad\x1b[2J`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %s:\n%s", want, out.String())
		}
	}
}
