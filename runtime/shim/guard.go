package shim

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/sirupsen/logrus"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/eventlog"
	"github.com/execguard/execguard/runtime/core"
	"github.com/execguard/execguard/state"
)

// Agent is the agent.name of the shim's documents.
const Agent = "execguard-shim"

// LockWait bounds how long a request waits for the event log's lock before
// its event goes to the spool: the shim serves every request of its pod.
const LockWait = 500 * time.Millisecond

// guard decides the processes the shim starts and records their ends. It
// keeps each container's facts from its create for the execs into it, and
// each process started until its exit.
type guard struct {
	src  *sources
	self detect.Caller
	// bundleRoot is where containerd keeps the bundles of the shim's
	// namespace (the parent of the shim's working directory), for a
	// container the guard did not see created.
	bundleRoot string
	// workDir is the shim's working directory (its first bundle), where
	// terminal captures keep their FIFOs.
	workDir string
	log     *logrus.Entry

	mu    sync.Mutex
	ctrs  map[string]detect.Container
	procs map[procKey]*started
	// caps are the captures of recorded execs, from their start to their
	// delete (procs loses them at the exit, before the output is through).
	caps map[procKey]*capture
	// reported is the last configuration and policy problem logged, so a
	// standing one is logged once, not on every decision.
	reported map[string]string
}

// procKey names a process: its container and exec ("" for the init).
type procKey struct{ container, exec string }

// started is what a process's end event pairs with.
type started struct {
	entityID    string
	time        string
	args        []string
	interactive bool
	container   detect.Container
	pid         uint32
	// capture records the process's terminal output; nil when it is not
	// recorded.
	capture *capture
	// held is the start's documents until the process's pid is known.
	held *core.Held
	// writing orders the process's documents: its held start is written
	// before its end, whichever request writes it.
	writing sync.Mutex
}

// verdict is the answer to a request: refuse it, and why.
type verdict struct {
	block  bool
	reason string
}

func newGuard(cfgPath, workDir string, log *logrus.Entry) *guard {
	self := detect.Caller{PID: os.Getpid(), Engine: "containerd-shim"}
	if comm, err := os.ReadFile("/proc/self/comm"); err == nil {
		self.Name = strings.TrimSpace(string(comm))
	}
	if exe, err := os.Executable(); err == nil {
		self.Executable = exe
	}
	return &guard{
		src: newSources(cfgPath), self: self, bundleRoot: filepath.Dir(workDir), workDir: workDir, log: log,
		ctrs: map[string]detect.Container{}, procs: map[procKey]*started{}, caps: map[procKey]*capture{},
	}
}

// decide decides and records one process start.
func (g *guard) decide(f detect.Facts, cfg config.Config, cfgErr error, record func(detect.Record) error) core.Result {
	res := core.Decide(core.Input{Facts: f, Config: cfg, ConfigErr: cfgErr, Sources: g.src, Agent: Agent, LockWait: LockWait, WritesEnds: true, Record: record, Hold: true})
	if level, msg := res.Diagnostic(cfg.StateDir); msg != "" {
		g.logf(level, "%s", msg)
	}
	// What the wrapper tells the runtime's log, the shim tells its own,
	// which containerd copies into its log.
	var cfgMsg string
	if cfgErr != nil {
		cfgMsg = cfgErr.Error()
	}
	g.reportOnce("config", cfgMsg)
	policyMsg := res.Record.Policy.Err
	if policyMsg == cfgMsg { // a refused configuration is the policy's error too
		policyMsg = ""
	}
	g.reportOnce("policy", policyMsg)
	if res.Decision.Block {
		g.logf("warning", "%s", res.Decision.Reason)
	}
	return res
}

// reportOnce logs a configuration or policy problem when it first appears
// or changes, and once more when it is gone.
func (g *guard) reportOnce(what, msg string) {
	g.mu.Lock()
	if g.reported == nil {
		g.reported = map[string]string{}
	}
	last := g.reported[what]
	g.reported[what] = msg
	g.mu.Unlock()
	switch {
	case msg == last:
	case msg == "":
		g.logf("info", "%s: the problem is gone", what)
	default:
		g.logf("warning", "%s", msg)
	}
}

func (g *guard) logf(level, format string, args ...any) {
	lvl, err := logrus.ParseLevel(level)
	if err != nil {
		lvl = logrus.WarnLevel
	}
	g.log.Logf(lvl, "execguard: "+format, args...)
}

// create decides a container start. runtimeName is the runtime the shim
// runs (runc).
func (g *guard) create(r *taskAPI.CreateTaskRequest, runtimeName string) (v verdict, st *started) {
	defer g.recoverCreate(r.GetID())
	cfg, cfgErr := g.src.config()
	f := createFacts(r, runtimeName, g.self, cfg.StateDir)
	res := g.decide(f, cfg, cfgErr, nil)
	if res.Decision.Block {
		return verdict{true, res.Decision.Reason}, nil
	}
	g.mu.Lock()
	g.ctrs[r.ID] = res.Record.Facts.Container
	g.mu.Unlock()
	return verdict{}, startedOf(res)
}

// createFacts are the facts of a container start: its bundle's config.json
// (process, annotations) and the NRI plugin's record.
func createFacts(r *taskAPI.CreateTaskRequest, runtimeName string, self detect.Caller, stateDir string) detect.Facts {
	f := detect.Facts{Operation: detect.OpContainerStart, Subcommand: "create", Caller: self}
	f.Container.ID = r.ID
	f.Container.Runtime = runtimeName
	f.Container.Bundle = r.Bundle
	core.ConfigFromFile(&f, filepath.Join(r.Bundle, "config.json"), true)
	f.Stdin, f.StdinSource = stdinOf(r.Terminal || (f.Process.Known && f.Process.Terminal), r.Stdin)
	applyPluginRecord(&f, stateDir)
	return f
}

// exec decides an exec before anything of it starts.
func (g *guard) exec(r *taskAPI.ExecProcessRequest) (v verdict, st *started) {
	defer g.recoverExec(r.GetID(), &v)
	cfg, cfgErr := g.src.config()
	g.mu.Lock()
	ctr, known := g.ctrs[r.ID]
	g.mu.Unlock()
	f := execFacts(r, g.self, ctr, known, g.bundleRoot, cfg.StateDir)
	var capt *capture
	record := func(rec detect.Record) error {
		c, err := newCapture(r, rec, cfg, g.workDir, g.self, g.logf)
		capt = c
		return err
	}
	res := g.decide(f, cfg, cfgErr, record)
	if res.Decision.Block {
		if capt != nil {
			capt.abort()
		}
		return verdict{true, res.Decision.Reason}, nil
	}
	st = startedOf(res)
	st.capture = capt
	return verdict{}, st
}

// execFacts are the facts of an exec: its process spec and stdin from the
// request, its container from the container's create (or, when the shim did
// not see it, its bundle config under bundleRoot) and the NRI plugin's
// record.
func execFacts(r *taskAPI.ExecProcessRequest, self detect.Caller, ctr detect.Container, known bool, bundleRoot, stateDir string) detect.Facts {
	f := detect.Facts{Operation: detect.OpExec, Subcommand: "exec", Caller: self, ExecID: r.ExecID, ExecKind: detect.ExecEngine}
	f.Process = execProcess(&f, r.Spec)
	if known {
		f.Container = ctr
	} else {
		f.Container = detect.Container{Runtime: "runc", Bundle: filepath.Join(bundleRoot, r.ID)}
		core.ConfigFromFile(&f, filepath.Join(f.Container.Bundle, "config.json"), false)
	}
	f.Container.ID = r.ID
	f.Stdin, f.StdinSource = stdinOf(r.Terminal || (f.Process.Known && f.Process.Terminal), r.Stdin)
	applyPluginRecord(&f, stateDir)
	return f
}

func applyPluginRecord(f *detect.Facts, stateDir string) {
	if stateDir == "" || f.Container.ID == "" {
		return
	}
	rec, ok, err := state.ReadContainer(stateDir, f.Container.ID)
	if err != nil {
		f.AddProblem("plugin metadata: %v", err)
	} else if ok {
		rec.Apply(&f.Container)
	}
}

func startedOf(res core.Result) *started {
	return &started{
		entityID:    detect.ProcessEntityID(res.Record),
		time:        detect.Timestamp(res.Record),
		args:        res.Record.Facts.Process.Args,
		interactive: res.Decision.Interactive,
		container:   res.Record.Facts.Container,
		held:        res.Held,
	}
}

// writeHeld writes the start documents of process k if they are still
// held, with its pid (0 when it never started).
func (g *guard) writeHeld(k procKey, pid uint32) {
	g.mu.Lock()
	st := g.procs[k]
	g.mu.Unlock()
	g.flush(st, pid)
}

// flush writes st's held start, once, with pid.
func (g *guard) flush(st *started, pid uint32) { g.flushTTY(st, pid, detect.TTY{}) }

// flushTTY is flush naming the terminal tty when it is known (read by the
// caller as the process started).
func (g *guard) flushTTY(st *started, pid uint32, tty detect.TTY) {
	if st == nil {
		return
	}
	st.writing.Lock()
	defer st.writing.Unlock()
	h := g.take(st)
	if h != nil && tty.Known && h.Terminal() {
		h.SetTTY(tty.Major, tty.Minor)
	}
	g.write(h, pid)
}

// take hands over st's held documents, once.
func (g *guard) take(st *started) *core.Held {
	if st == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	h := st.held
	st.held = nil
	return h
}

// write writes held documents (none when h is nil) and reports where
// they went when not to the log.
func (g *guard) write(h *core.Held, pid uint32) {
	if h == nil {
		return
	}
	// A started terminal process has its terminal by now: Session View
	// shows the device (process.tty).
	if pid != 0 && h.Terminal() && !h.TTYKnown() {
		if t, ok := ttyOf(pid); ok {
			h.SetTTY(t.Major, t.Minor)
		}
	}
	// Worded as for a start written at once, which it stands for.
	if level, msg := h.Write(pid).Diagnostic(h.StateDir()); msg != "" {
		g.logf(level, "%s", msg)
	}
}

// writeAllHeld writes every start still held, without a pid: the shim is
// going away.
func (g *guard) writeAllHeld() {
	g.mu.Lock()
	procs := make([]*started, 0, len(g.procs))
	for _, st := range g.procs {
		procs = append(procs, st)
	}
	g.mu.Unlock()
	for _, st := range procs {
		g.flush(st, 0)
	}
}

// recoverCreate keeps a fault in execguard's code from failing a container
// start: container starts are never refused for execguard's own failures.
func (g *guard) recoverCreate(id string) {
	if p := recover(); p != nil {
		g.logf("error", "container %s: deciding its start failed: %v; it starts unrecorded", id, p)
	}
}

// recoverExec applies the fail mode to an exec whose decision failed.
func (g *guard) recoverExec(id string, v *verdict) {
	p := recover()
	if p == nil {
		return
	}
	cfg := g.src.lastConfig()
	if cfg.FailMode == detect.FailClosed {
		*v = verdict{true, fmt.Sprintf("execguard: exec into container %s refused: the decision failed and fail mode is closed", id)}
	} else {
		*v = verdict{}
	}
	g.logf("error", "container %s: deciding an exec failed: %v; fail mode %s", id, p, cfg.FailMode)
}

// track remembers a started process until its exit.
func (g *guard) track(k procKey, st *started) {
	if st == nil {
		return
	}
	g.mu.Lock()
	g.procs[k] = st
	if st.capture != nil {
		g.caps[k] = st.capture
	}
	g.mu.Unlock()
}

// setPID notes a started process's pid, when it has not exited already,
// tells its capture the process runs, and writes its start with it.
func (g *guard) setPID(k procKey, pid uint32) {
	g.mu.Lock()
	st := g.procs[k]
	if st != nil {
		st.pid = pid
	}
	c := g.caps[k]
	heldTerminal := st != nil && st.held != nil && st.held.Terminal()
	g.mu.Unlock()
	// The terminal is read once, as soon as the process runs: the capture
	// and the start both name it, and a short-lived process soon has none.
	var tty detect.TTY
	if c != nil || heldTerminal {
		tty, _ = ttyOf(pid)
	}
	// The capture first: it releases the session's output, which must not
	// wait for the start's write.
	if c != nil {
		c.started(pid, tty)
	}
	g.flushTTY(st, pid, tty)
}

// captureOf is the capture of process k, nil when it is not recorded.
func (g *guard) captureOf(k procKey) *capture {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.caps[k]
}

// forget drops what is kept of a process, and of its container when it is
// the init.
// A recorded exec's output is handed on first: containerd's client closes
// its end once the exec is deleted.
func (g *guard) forget(k procKey) {
	g.mu.Lock()
	c := g.caps[k]
	delete(g.caps, k)
	delete(g.procs, k)
	if k.exec == "" {
		delete(g.ctrs, k.container)
	}
	g.mu.Unlock()
	if c != nil {
		c.abort()
		c.wait()
	}
}

// exited writes the end event of a process the guard saw start.
func (g *guard) exited(e *eventstypes.TaskExit) {
	defer func() {
		if p := recover(); p != nil {
			g.logf("error", "container %s: recording the end of %s failed: %v", e.GetContainerID(), e.GetID(), p)
		}
	}()
	k := procKey{container: e.ContainerID, exec: e.ID}
	if e.ID == e.ContainerID {
		k.exec = ""
	}
	g.mu.Lock()
	st, ok := g.procs[k]
	delete(g.procs, k)
	g.mu.Unlock()
	if !ok {
		return
	}
	// A process can exit before its Start returns, or while Start writes
	// its start: the start goes first.
	st.writing.Lock()
	defer st.writing.Unlock()
	g.write(g.take(st), e.Pid)
	cfg, _ := g.src.config()
	red, _ := g.src.Redactor(cfg) // an invalid configuration falls back to the default patterns
	buf, err := endEvent(e, k.exec, st, cfg, red, g.src.Host())
	out := eventlog.Lost
	if err == nil {
		out, err = eventlog.Log{Path: cfg.EventLog, StateDir: cfg.StateDir, LockWait: LockWait}.Write(buf)
	}
	switch out {
	case eventlog.Spooled:
		g.logf("warning", "end event of %s/%s spooled: %v", e.ContainerID, e.ID, err)
	case eventlog.Lost:
		g.logf("error", "end event of %s/%s lost: %v", e.ContainerID, e.ID, err)
	default:
		if err != nil { // written, in a directory someone else could change
			g.logf("warning", "%v", err)
		}
	}
}

// endEvent encodes the end of process st (exec execID, "" for the init).
func endEvent(e *eventstypes.TaskExit, execID string, st *started, cfg config.Config, red *detect.Redactor, host detect.Host) ([]byte, error) {
	end := time.Now()
	if e.ExitedAt != nil && e.ExitedAt.IsValid() {
		end = e.ExitedAt.AsTime()
	}
	code := int32(e.ExitStatus)
	pid := e.Pid
	if pid == 0 {
		pid = st.pid
	}
	return detect.EncodeEnd(detect.End{
		Lifecycle: detect.Lifecycle{
			Container: st.container,
			Cluster:   detect.Cluster{ID: cfg.ClusterID, Name: cfg.ClusterName},
			Host:      host,
			Time:      end,
			Agent:     Agent,
			Namespace: cfg.DataStreamNamespace,
		},
		Args:           red.Args(st.args),
		StartEntityID:  st.entityID,
		StartTime:      st.time,
		ExitCode:       &code,
		PID:            pid,
		ExecID:         execID,
		NotInteractive: !st.interactive,
	})
}

// readBounded reads at most one byte more than core.MaxSpecBytes of path,
// so decodeBounded can tell an oversized file.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, core.MaxSpecBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// runtimeName is the name events give the runtime the shim runs: the base
// name of options.BinaryName, without the wrapper's prefix.
func runtimeName(binary string) string {
	if binary == "" {
		return "runc"
	}
	if n := strings.TrimPrefix(filepath.Base(binary), config.WrapperPrefix); n != "" {
		return n
	}
	return filepath.Base(binary)
}
