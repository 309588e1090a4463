package shim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/execguard/execguard/eventlog"
	"github.com/execguard/execguard/runtime/core"
	"github.com/execguard/execguard/state"
)

const podConfig = `{"process":{"args":["sleep","3600"],"cwd":"/","user":{"uid":0,"gid":0}},` +
	`"annotations":{"io.kubernetes.cri.container-name":"app","io.kubernetes.cri.sandbox-name":"web-1","io.kubernetes.cri.sandbox-namespace":"shop"}}`

// guardEnv is a guard with its configuration, event log and one container.
type guardEnv struct {
	t      testing.TB
	g      *guard
	cfg    string
	events string
	state  string
	bundle string
}

func newGuardEnv(t testing.TB, action, failMode string) *guardEnv {
	t.Helper()
	dir := t.TempDir()
	e := &guardEnv{t: t, cfg: filepath.Join(dir, "execguard.toml"), events: filepath.Join(dir, "events.ndjson"),
		state: filepath.Join(dir, "state"), bundle: filepath.Join(dir, "bundles", "c1")}
	e.configure(action, failMode)
	if err := os.MkdirAll(e.bundle, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.bundle, "config.json"), []byte(podConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(testWriter{t})
	e.g = newGuard(e.cfg, e.bundle, logrus.NewEntry(log))
	return e
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func (e *guardEnv) configure(action, failMode string) {
	e.t.Helper()
	text := fmt.Sprintf("event_log = %q\nstate_dir = %q\ninteractive_action = %q\nfail_mode = %q\n", e.events, e.state, action, failMode)
	tmp := e.cfg + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, e.cfg); err != nil {
		e.t.Fatal(err)
	}
}

func (e *guardEnv) docs() []map[string]any {
	e.t.Helper()
	f, err := os.Open(e.events)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var d map[string]any
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			e.t.Fatalf("event log line %q: %v", sc.Text(), err)
		}
		out = append(out, d)
	}
	return out
}

func get(d map[string]any, path string) any {
	var cur any = d
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func (e *guardEnv) create() *started {
	e.t.Helper()
	v, st := e.g.create(&taskAPI.CreateTaskRequest{ID: "c1", Bundle: e.bundle}, "runc")
	if v.block || st == nil {
		e.t.Fatalf("container start refused: %q", v.reason)
	}
	// As Create does once runc has created the init.
	e.g.write(e.g.take(st), 100)
	return st
}

func execReq(t testing.TB, id string, tty bool, args ...string) *taskAPI.ExecProcessRequest {
	return &taskAPI.ExecProcessRequest{ID: "c1", ExecID: id, Terminal: tty, Spec: specAny(t, &specs.Process{Args: args, Terminal: tty, Cwd: "/"})}
}

// The guard's whole round: a container start marked covered, a tty exec
// refused with the reason the user sees, a plain exec allowed, and its end
// event paired with its start.
func TestGuardLifecycle(t *testing.T) {
	e := newGuardEnv(t, "block", "open")
	e.create()
	if m, ok, err := state.ReadMark(e.state, "c1"); !ok || err != nil || m.EndsBy != Agent || m.EntityID == "" {
		t.Fatalf("coverage mark %+v, %v, %v: want one saying the shim writes the ends", m, ok, err)
	}

	v, _ := e.g.exec(execReq(t, "tty", true, "sh"))
	want := `execguard: interactive exec into container "app" of pod shop/web-1 blocked by policy`
	if !v.block || v.reason != want {
		t.Fatalf("tty exec: %+v, want refused with %q", v, want)
	}
	if got := refusal(v.reason).Error(); !strings.Contains(got, want) {
		t.Errorf("refusal error %q lacks the reason", got)
	}

	v, st := e.g.exec(execReq(t, "plain", false, "sh", "-c", "exit 3"))
	if v.block || st == nil {
		t.Fatalf("plain exec refused: %+v", v)
	}
	k := procKey{"c1", "plain"}
	e.g.track(k, st)
	e.g.setPID(k, 4242)
	e.g.exited(&eventstypes.TaskExit{ContainerID: "c1", ID: "plain", Pid: 4242, ExitStatus: 3, ExitedAt: timestamppb.New(time.Now())})
	e.g.exited(&eventstypes.TaskExit{ContainerID: "c1", ID: "plain", Pid: 4242, ExitStatus: 3}) // a second exit writes nothing

	docs := e.docs()
	var actions []string
	for _, d := range docs {
		actions = append(actions, fmt.Sprint(get(d, "event.kind"), "/", get(d, "execguard.operation"), ":", get(d, "event.action"), "/", get(d, "event.type")))
	}
	wantActions := "[event/container-start:exec/[start] event/exec:exec/[denied] alert/exec:exec/[denied] event/exec:exec/[start] event/exec:end/[end]]"
	if fmt.Sprint(actions) != wantActions {
		t.Fatalf("events %v, want %s", actions, wantActions)
	}
	if pid := get(docs[0], "process.pid"); pid != 100.0 {
		t.Errorf("container start process.pid = %v, want the init's from Create", pid)
	}
	start, end := docs[3], docs[4]
	if pid, leader := get(start, "process.pid"), get(start, "process.entry_leader.pid"); pid != 4242.0 || leader != 4242.0 {
		t.Errorf("exec start process.pid = %v, entry_leader.pid = %v, want Start's 4242", pid, leader)
	}
	for path, want := range map[string]any{
		"agent.name": "execguard-shim", "process.exit_code": 3.0, "process.pid": 4242.0, "execguard.exec_id": "plain",
		"process.entity_id": get(start, "process.entity_id"), "process.start": get(start, "@timestamp"),
		"process.interactive": false, "container.name": "app", "orchestrator.resource.name": "web-1",
	} {
		if got := get(end, path); got != want {
			t.Errorf("end event %s = %v, want %v", path, got, want)
		}
	}
	if d, ok := get(end, "event.duration").(float64); !ok || d < 0 {
		t.Errorf("end event.duration = %v, want a run time in ns", get(end, "event.duration"))
	}
	if get(start, "process.parent.pid") != float64(os.Getpid()) || get(start, "execguard.caller") != "containerd-shim" {
		t.Errorf("start event caller %v/%v, want the shim itself", get(start, "process.parent.pid"), get(start, "execguard.caller"))
	}
}

// A request execguard cannot handle at all (here none) is decided by the
// fail mode, and never takes the shim down.
func TestGuardFailMode(t *testing.T) {
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			e := newGuardEnv(t, "alert", mode)
			e.create()
			v, st := e.g.exec(nil)
			if v.block != (mode == "closed") || st != nil {
				t.Errorf("exec of a nil request: %+v, %v; want refused only in fail mode closed", v, st)
			}
			if v, _ := e.g.create(nil, "runc"); v.block {
				t.Errorf("container start of a nil request refused: %q", v.reason)
			}
		})
	}
}

// A changed configuration applies to the next decision.
func TestGuardReloadsConfig(t *testing.T) {
	e := newGuardEnv(t, "alert", "open")
	later := time.Now().Add(time.Minute) // every file is past the racy window
	e.g.src.now = func() time.Time { return later }
	e.create()
	if v, _ := e.g.exec(execReq(t, "a", true, "sh")); v.block {
		t.Fatalf("alert mode refused: %q", v.reason)
	}
	e.configure("block", "open")
	if v, _ := e.g.exec(execReq(t, "b", true, "sh")); !v.block {
		t.Fatalf("block mode, after the change, allowed a tty exec")
	}
	e.configure("alert", "open")
	if v, _ := e.g.exec(execReq(t, "c", true, "sh")); v.block {
		t.Fatalf("alert mode, after the change back, refused: %q", v.reason)
	}
}

func TestStatKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	os.WriteFile(path, []byte("one"), 0o644)
	now := time.Now()
	later := now.Add(time.Minute)
	if k := statKey(path, now); k != "" {
		t.Errorf("key of a file just written %q, want none (racy)", k)
	}
	k1 := statKey(path, later)
	if k1 == "" || statKey(path, later) != k1 {
		t.Fatalf("key of an old file %q: want a stable one", k1)
	}
	os.WriteFile(path, []byte("two!"), 0o644)
	if k2 := statKey(path, later); k2 == k1 {
		t.Errorf("key unchanged after the file changed")
	}
	if k := statKey(filepath.Join(dir, "none"), later); k != "missing" {
		t.Errorf("key of a missing file %q", k)
	}
	d1 := dirKey(dir, later)
	os.WriteFile(filepath.Join(dir, "g"), nil, 0o644)
	if d2 := dirKey(dir, later); d2 == d1 || d2 == "" {
		t.Errorf("directory key %q unchanged or empty after a file was added", d2)
	}
}

// A log another writer keeps locked costs an exec a bounded wait: its
// event goes to the spool and the exec goes on.
func TestGuardLockedLogSpools(t *testing.T) {
	e := newGuardEnv(t, "alert", "open")
	e.create()
	// Another writer stuck holding the writers' lock.
	f, err := os.OpenFile(filepath.Join(e.state, eventlog.LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	v, st := e.g.exec(execReq(t, "locked", true, "sh"))
	if v.block || st == nil {
		t.Fatalf("exec with the log locked: %+v", v)
	}
	k := procKey{"c1", "locked"}
	e.g.track(k, st)
	e.g.setPID(k, 7)
	if n, err := eventlog.Pending(e.state); n != 1 || err != nil {
		t.Fatalf("%d records spooled (%v), want the exec's", n, err)
	}
}

// An interactive exec whose event can be neither logged nor spooled is
// refused in fail mode closed, as by the wrapper.
func TestGuardLostEventFailsClosed(t *testing.T) {
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			e := newGuardEnv(t, "alert", mode)
			blocker := filepath.Join(t.TempDir(), "file")
			os.WriteFile(blocker, nil, 0o600)
			e.events, e.state = filepath.Join(blocker, "events.ndjson"), filepath.Join(blocker, "state")
			e.configure("alert", mode)
			v, _ := e.g.exec(execReq(t, "lost", true, "sh"))
			if v.block != (mode == "closed") || v.block && v.reason != core.LostReason {
				t.Errorf("exec whose event is lost: %+v", v)
			}
			if v, _ := e.g.exec(execReq(t, "lost-plain", false, "id")); v.block {
				t.Errorf("non-interactive exec whose event is lost refused: %q", v.reason)
			}
		})
	}
}

// The shim's log (which containerd copies into its own) hears of a broken
// configuration once, not on every decision, and of each refusal.
func TestGuardReportsProblemsOnce(t *testing.T) {
	e := newGuardEnv(t, "block", "open")
	var buf bytes.Buffer
	log := logrus.New()
	log.SetOutput(&buf)
	e.g.log = logrus.NewEntry(log)
	e.create()
	if err := os.WriteFile(e.cfg, []byte("colour = \"blue\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		e.g.exec(execReq(t, fmt.Sprintf("x%d", i), false, "id"))
	}
	if n := strings.Count(buf.String(), `unknown key \"colour\"`); n != 1 {
		t.Errorf("the configuration problem was logged %d times, want once:\n%s", n, buf.String())
	}
	e.configure("block", "open")
	e.g.exec(execReq(t, "tty", true, "sh"))
	out := buf.String()
	if !strings.Contains(out, "config: the problem is gone") || !strings.Contains(out, "blocked by policy") {
		t.Errorf("log lacks the recovery or the refusal:\n%s", out)
	}
}

// An allowed exec's start is held until its pid is known, and written once
// whatever comes first; one the fail mode would refuse if it were lost is
// written before the exec goes on.
func TestGuardHeldStart(t *testing.T) {
	exit := func(pid uint32) *eventstypes.TaskExit {
		return &eventstypes.TaskExit{ContainerID: "c1", ID: "x", Pid: pid, ExitedAt: timestamppb.New(time.Now())}
	}
	tests := []struct {
		name     string
		failMode string
		tty      bool
		then     func(g *guard, k procKey)
		pid      any    // the start's process.pid
		written  bool   // written before anything follows the exec
		after    string // event.action of the documents after the start
	}{
		{"Start gives the pid", "open", true, func(g *guard, k procKey) { g.setPID(k, 77) }, 77.0, false, ""},
		{"exit before Start returns", "open", false, func(g *guard, k procKey) { g.exited(exit(88)); g.setPID(k, 88) }, 88.0, false, "end"},
		{"Start fails", "open", false, func(g *guard, k procKey) { g.writeHeld(k, 0); g.forget(k) }, nil, false, ""},
		{"deleted before Start", "open", false, func(g *guard, k procKey) { g.writeHeld(k, 0); g.forget(k); g.writeHeld(k, 0) }, nil, false, ""},
		{"shim shutdown", "open", true, func(g *guard, k procKey) { g.writeAllHeld(); g.writeAllHeld(); g.setPID(k, 9) }, nil, false, ""},
		{"fail closed: a terminal exec is written at once", "closed", true, func(g *guard, k procKey) { g.setPID(k, 5) }, nil, true, ""},
		{"fail closed: a plain exec waits for its pid", "closed", false, func(g *guard, k procKey) { g.setPID(k, 6) }, 6.0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newGuardEnv(t, "alert", tt.failMode)
			e.create()
			before := len(e.docs())
			v, st := e.g.exec(execReq(t, "x", tt.tty, "sh"))
			if v.block || st == nil {
				t.Fatalf("exec refused: %+v", v)
			}
			k := procKey{"c1", "x"}
			e.g.track(k, st)
			if got := len(e.docs()) > before; got != tt.written {
				t.Errorf("start written before the exec went on: %v, want %v", got, tt.written)
			}
			tt.then(e.g, k)
			var starts, rest []string
			var pid any
			for _, d := range e.docs()[before:] {
				switch {
				case get(d, "event.kind") == "event" && get(d, "event.action") == "exec":
					starts = append(starts, "start")
					pid = get(d, "process.pid")
				case get(d, "event.kind") == "event":
					rest = append(rest, fmt.Sprint(get(d, "event.action")))
				}
				if len(starts) == 0 {
					t.Errorf("%v before the exec's start", get(d, "event.action"))
				}
			}
			if len(starts) != 1 || pid != tt.pid {
				t.Errorf("starts %v with process.pid %v, want one with %v", starts, pid, tt.pid)
			}
			if got := strings.Join(rest, " "); got != tt.after {
				t.Errorf("after the start: %q, want %q", got, tt.after)
			}
		})
	}
}

// Start and the exit race for a process that exits at once: its start is
// written before its end either way.
func TestGuardHeldStartBeforeEnd(t *testing.T) {
	e := newGuardEnv(t, "alert", "open")
	e.create()
	const n = 40
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("x%d", i)
		_, st := e.g.exec(execReq(t, id, false, "true"))
		k := procKey{"c1", id}
		e.g.track(k, st)
		done := make(chan struct{})
		go func() { e.g.setPID(k, uint32(1000+i)); close(done) }()
		e.g.exited(&eventstypes.TaskExit{ContainerID: "c1", ID: id, Pid: uint32(1000 + i), ExitedAt: timestamppb.New(time.Now())})
		<-done
	}
	seen := map[string]string{}
	for _, d := range e.docs() {
		id, _ := get(d, "execguard.exec_id").(string)
		if id == "" || get(d, "event.kind") != "event" {
			continue
		}
		seen[id] += fmt.Sprint(get(d, "event.action"), " ")
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("x%d", i)
		if seen[id] != "exec end " {
			t.Errorf("exec %s: documents %q, want its start, then its end", id, seen[id])
		}
	}
}
