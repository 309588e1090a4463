//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/eventlog"
	"github.com/execguard/execguard/internal/diaglog"
	"github.com/execguard/execguard/plugin"
	"github.com/execguard/execguard/state"
	"github.com/execguard/execguard/test/engine"
	"github.com/execguard/execguard/test/node"
)

// FaultsDocEnv names a file TestFaultMatrix writes its outcome table to
// (docs/faults.md), relative to the module root unless absolute.
const FaultsDocEnv = "EXECGUARD_FAULTS_DOC"

// Burst shape: enough execs in flight that the fault lands among them.
const (
	burstExecs       = 36
	burstConcurrency = 6
	burstInjectAfter = 8 // completed execs before the fault is injected
	burstTTYEvery    = 3
)

// faultCase is one row of the fault matrix: how the fault is made and
// undone, and what the contract says the node does meanwhile.
type faultCase struct {
	id, fault string
	// policy: the configuration names a policy file (compiled before the burst).
	policy bool
	// inject makes the fault; the function it returns undoes it.
	inject func(f *faultEnv, r *faultRun) (restore func())
	// refusedIn are the fail modes in which an interactive exec is refused
	// while the fault lasts; in the others it runs.
	refusedIn []string
	// refusedWhy is the rule that refuses them.
	refusedWhy string
	// problem must appear (case-insensitive) in the exec event's
	// error.message or execguard.policy_error while the fault lasts.
	problem string
	// spooled: while the fault lasts the events go to the spool in the state
	// directory, and are replayed into the log after it.
	spooled bool
	// defaults: the wrapper falls back to its built-in configuration, so the
	// events go to the default log and state directory.
	defaults bool
	// lost: neither the log nor the spool can take the events while the
	// fault lasts, nor can the lost counter be written: the runtime's log
	// (the shim's, on the shim front) must say so.
	lost bool
	// wrapperOnly: the fault is in what only the wrapper uses.
	wrapperOnly bool
}

func faultCases() []faultCase {
	return []faultCase{
		{
			id: "log-dir-missing", fault: "event log directory removed (renamed away) mid-burst",
			inject: func(f *faultEnv, r *faultRun) func() {
				gone := f.eventsDir + ".gone-" + r.tag
				f.must(os.Rename(f.eventsDir, gone))
				r.extra = append(r.extra, source{label: "log in the removed directory", path: filepath.Join(gone, "events.ndjson")})
				return func() {}
			},
		},
		{
			id: "log-dir-uncreatable", fault: "event log directory missing and not creatable (a file in its place)",
			spooled: true,
			inject:  func(f *faultEnv, r *faultRun) func() { return replaceDirByFile(f, f.eventsDir) },
		},
		{
			id: "log-fs-full", fault: "event log on a full file system (64 KiB tmpfs, filled)",
			spooled: true,
			inject: func(f *faultEnv, r *faultRun) func() {
				// The log moves to the small file system in one step: a
				// tmpfs mounted over its directory. A writer opens the log
				// before the mount (and writes to the directory as it was,
				// read here through a descriptor kept open on it) or after
				// it. (Renaming the directory aside first left a moment in
				// which a writer made it again and wrote its event there,
				// to be covered by the mount.)
				before, err := os.Open(f.eventsDir)
				f.must(err)
				r.extra = append(r.extra, source{label: "log before the fault", path: fmt.Sprintf("/proc/self/fd/%d/events.ndjson", before.Fd())})
				f.must(unix.Mount("tmpfs", f.eventsDir, "tmpfs", 0, "size=64k,mode=0750"))
				r.cleanups = append(r.cleanups, func() {
					f.must(unix.Unmount(f.eventsDir, 0))
					f.must(before.Close())
				})
				// One event lands first, so the log's last page has room left
				// for part of a line: a write that does not fit is cut short.
				if _, err := f.node.Exec(f.ctrs[0], "echo", r.marker("fill")); err != nil {
					f.t.Fatal(err)
				}
				fillUp(f.t, filepath.Join(f.eventsDir, "filler"))
				// What the log's last page still holds would take a whole
				// event of the execs still running: left to chance, the
				// probe's could land in the log. Padding leaves less room
				// than any event, so every write now is cut short.
				padLastPage(f.t, f.eventLog, filepath.Join(f.stateDir, eventlog.LockFile), 100)
				return func() {
					f.must(os.Remove(filepath.Join(f.eventsDir, "filler")))
					f.must(unix.Mount("tmpfs", f.eventsDir, "tmpfs", unix.MS_REMOUNT, "size=16m,mode=0750"))
				}
			},
		},
		{
			id: "log-rotated", fault: "event log rotated mid-burst (renamed, recreated empty)",
			inject: func(f *faultEnv, r *faultRun) func() {
				rotated := f.eventLog + "." + r.tag
				f.must(os.Rename(f.eventLog, rotated))
				f.must(os.WriteFile(f.eventLog, nil, 0o640))
				r.extra = append(r.extra, source{label: "rotated log", path: rotated})
				return func() {}
			},
		},
		{
			id: "plugin-killed", fault: "NRI plugin killed (SIGKILL) mid-burst, restarted",
			inject: func(f *faultEnv, r *faultRun) func() {
				f.plugin.kill(f.t)
				return func() {
					restarted := time.Now()
					f.plugin = f.startPlugin()
					waitStatus(f.t, f.stateDir, "the restarted plugin synchronised", func(s plugin.Status) bool {
						return s.Connected && s.Synchronized.After(restarted)
					})
				}
			},
		},
		{
			// Root passes every permission check, so a mode of 000 would not
			// stop it: a regular file in the directory's place makes every
			// path below it fail (ENOTDIR) for root too.
			id: "state-dir-unreadable", fault: "state directory unreadable (a regular file in its place)",
			inject: func(f *faultEnv, r *faultRun) func() { return replaceDirByFile(f, f.stateDir) },
		},
		{
			id: "log-and-state-unwritable", fault: "event log directory not creatable and state directory unreadable (files in their places)",
			refusedIn: []string{"closed"}, lost: true,
			refusedWhy: "an interactive exec whose event is lost is refused in fail mode closed",
			inject: func(f *faultEnv, r *faultRun) func() {
				restoreLog := replaceDirByFile(f, f.eventsDir)
				restoreState := replaceDirByFile(f, f.stateDir)
				return func() {
					restoreState()
					restoreLog()
				}
			},
		},
		{
			id: "config-truncated", fault: "configuration replaced mid-burst by a truncated file (TOML syntax error)",
			problem: "line 1", defaults: true,
			inject: func(f *faultEnv, r *faultRun) func() {
				full := f.configText(r.mode, false)
				f.replaceConfig([]byte(full[:strings.Index(full, "\n")-8]), 0o644)
				return func() { f.writeConfig(r.mode, false) }
			},
		},
		{
			// Fail mode stays readable: "fail mode decides the exec".
			id: "config-invalid", fault: "configuration replaced mid-burst by one with an unknown key and an invalid value",
			problem: "unknown key", refusedIn: []string{"closed"},
			refusedWhy: "a configuration with problems leaves the fail mode to decide the exec; the salvaged fail_mode is closed",
			inject: func(f *faultEnv, r *faultRun) func() {
				bad := strings.Replace(f.configText(r.mode, false), `interactive_action = "alert"`, `interactive_action = "sometimes"`+"\ncolour = \"red\"", 1)
				f.replaceConfig([]byte(bad), 0o644)
				return func() { f.writeConfig(r.mode, false) }
			},
		},
		{
			id: "config-group-writable", fault: "configuration made group-writable (0664) mid-burst",
			problem: "writable", refusedIn: []string{"closed"}, defaults: true,
			refusedWhy: "a refused configuration keeps the stricter fail mode, and fail_mode closed then refuses interactive execs",
			inject: func(f *faultEnv, r *faultRun) func() {
				f.must(os.Chmod(f.configPath, 0o664))
				return func() { f.must(os.Chmod(f.configPath, 0o644)) }
			},
		},
		{
			id: "config-other-writable", fault: "configuration made writable by others (0646) mid-burst",
			problem: "writable", refusedIn: []string{"closed"}, defaults: true,
			refusedWhy: "a refused configuration keeps the stricter fail mode, and fail_mode closed then refuses interactive execs",
			inject: func(f *faultEnv, r *faultRun) func() {
				f.must(os.Chmod(f.configPath, 0o646))
				return func() { f.must(os.Chmod(f.configPath, 0o644)) }
			},
		},
		{
			id: "policy-group-writable", fault: "policy made group-writable (0664) mid-burst; a last good policy exists",
			policy: true, problem: "writable",
			inject: func(f *faultEnv, r *faultRun) func() {
				f.must(os.Chmod(f.policyPath, 0o664))
				return func() { f.must(os.Chmod(f.policyPath, 0o644)) }
			},
		},
		{
			id: "policy-corrupt", fault: "policy replaced mid-burst by a corrupt file; a last good policy exists",
			policy: true, problem: "policy",
			inject: func(f *faultEnv, r *faultRun) func() {
				f.replacePolicy([]byte("process:\n  selectors: [ {name: broken\n"))
				return func() { f.writePolicy() }
			},
		},
		{
			id: "policy-corrupt-no-last-good", fault: "policy replaced mid-burst by a corrupt file; no last good policy (its cache removed)",
			policy: true, problem: "policy", refusedIn: []string{"closed"},
			refusedWhy: "without a policy that ever loaded, the fail mode decides",
			inject: func(f *faultEnv, r *faultRun) func() {
				f.replacePolicy([]byte("process:\n  selectors: [ {name: broken\n"))
				f.must(os.RemoveAll(filepath.Join(f.stateDir, "policy")))
				return func() { f.writePolicy() }
			},
		},
		{
			// The shim runs the runc of the handler's options.BinaryName,
			// not the configured one.
			id: "runtime-missing", fault: "configured real runtime missing (removed mid-burst)",
			problem: "runc", wrapperOnly: true,
			inject: func(f *faultEnv, r *faultRun) func() {
				f.must(os.Remove(f.runcLink))
				return func() { f.must(os.Symlink(realRunc, f.runcLink)) }
			},
		},
	}
}

// TestFaultMatrix runs every fault of the matrix, in fail mode open and
// closed, on one real containerd node with the wrapper and the NRI plugin,
// each while a burst of execs (with and without a terminal, across three
// containers) is in flight. Per case: interactive execs run or are refused
// as the fail mode says, non-interactive execs and every lifecycle operation
// of a fresh container (during and after the fault) succeed, every exec has
// exactly one event (in the log, or in the spool, or counted lost), no line
// is torn, and the spool is replayed once the fault is gone.
func TestFaultMatrix(t *testing.T) {
	f := newFaultEnv(t, frontWrapper)
	f.runCases(t, func(faultCase) bool { return true })
}

// TestFaultMatrixShim runs the faults that concern a long-lived shim (all
// but the wrapper's own) the same way against execguard's shim: the shim
// sees the configuration and policy change mid-burst (a stat per decision),
// and its diagnostics go to the shim log containerd copies to its own.
func TestFaultMatrixShim(t *testing.T) {
	f := newFaultEnv(t, frontShim)
	f.runCases(t, func(c faultCase) bool { return !c.wrapperOnly })
}

// TestFaultMatrixCRIO runs every fault of the matrix the same way on a real
// CRI-O whose runc handler runs the wrapper, with the NRI plugin on CRI-O's
// NRI socket. CRI-O runs a streaming exec's runtime itself, with no --log
// and on the exec's own streams, so the wrapper's diagnostics go to its
// diagnostics file under the state directory, and none may reach the exec.
func TestFaultMatrixCRIO(t *testing.T) {
	f := newFaultEnv(t, frontCRIO)
	f.runCases(t, func(faultCase) bool { return true })
}

// runCases runs each case that applies, in both fail modes, as a subtest
// of t, then writes the matrix's document.
func (f *faultEnv) runCases(t *testing.T, applies func(faultCase) bool) {
	for _, c := range faultCases() {
		if !applies(c) {
			continue
		}
		for _, mode := range []string{"open", "closed"} {
			t.Run(c.id+"/"+mode, func(t *testing.T) {
				f.t = t
				defer func() { f.t = f.root }()
				defer f.noteFailure(t, len(f.rows))
				f.rows = append(f.rows, f.run(t, c, mode))
			})
		}
	}
	f.t = t
	f.writeDoc()
}

// frontCRIO: CRI-O's runc handler runs the wrapper (its runtime_path).
const frontCRIO front = "crio"

// faultEnv is the node, wrapper, plugin and files the matrix runs on.
type faultEnv struct {
	t, root    *testing.T
	front      front
	node       engine.Node
	dir        string
	bin        string
	configPath string
	eventsDir  string
	eventLog   string
	stateDir   string
	policyPath string
	runcLink   string
	pluginLog  string
	plugin     *pluginProc
	pod        string
	ctrs       []string
	rows       []observation
	failed     []string        // the failed cases' summaries, repeated last
	reported   map[string]bool // defects of logs already reported
}

func newFaultEnv(t *testing.T, fr front) *faultEnv {
	requirePrerequisites(t)
	dir := t.TempDir()
	var f *faultEnv
	// Registered first, so it runs last: after the engine's and plugin's
	// log tails, where a shortened output still shows it.
	t.Cleanup(func() {
		if len(f.failed) > 0 {
			t.Logf("failed cases (their errors are above, in each case's output):\n%s", strings.Join(f.failed, "\n"))
		}
	})
	f = &faultEnv{
		t: t, root: t, front: fr,
		dir:        dir,
		bin:        filepath.Join(dir, "bin"),
		configPath: filepath.Join(dir, "execguard.toml"),
		eventsDir:  filepath.Join(dir, "events"),
		eventLog:   filepath.Join(dir, "events", "events.ndjson"),
		stateDir:   filepath.Join(dir, "state"),
		policyPath: filepath.Join(dir, "policy.yaml"),
		runcLink:   filepath.Join(dir, "rt", "runc"),
		pluginLog:  filepath.Join(dir, "plugin.log"),
		reported:   map[string]bool{},
	}
	for _, d := range []string{f.eventsDir, f.stateDir, filepath.Dir(f.runcLink)} {
		f.must(os.MkdirAll(d, 0o750))
	}
	f.must(os.Symlink(realRunc, f.runcLink))
	nodeOpts := engine.Options{Config: f.configPath}
	switch fr {
	case frontWrapper:
		nodeOpts.Runtime = buildWrapper(t, dir)
	case frontShim:
		nodeOpts.Runtime = realRunc
		nodeOpts.Shim = buildCommand(t, "./cmd/containerd-shim-execguard-v2", filepath.Join(f.bin, "containerd-shim-execguard-v2"))
	case frontCRIO:
		requireCRIO(t)
		nodeOpts.Kind = engine.CRIO
		nodeOpts.Runtime = buildWrapper(t, dir)
	default:
		t.Fatalf("unknown front %q", fr)
	}
	buildCommand(t, "./cmd/execguard", filepath.Join(f.bin, "execguard")) // the policy compiler beside the wrapper, and the NRI plugin
	f.writePolicy()
	f.writeConfig("open", false)
	// Some faults send the wrapper to its built-in defaults: this host's
	// default log and state directory are covered for the test's duration.
	coverDefaultDirs(t)

	n, err := engine.Start(context.Background(), nodeOpts)
	if err != nil {
		t.Fatalf("start %s node: %v", nodeOpts.Kind, err)
	}
	f.node = n
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("engine log tail:\n%s", n.LogTail(30))
			if b, err := os.ReadFile(f.pluginLog); err == nil {
				t.Logf("plugin log tail:\n%s", tail(string(b), 30))
			}
		}
		if err := n.Close(); err != nil {
			t.Errorf("close node: %v", err)
		}
	})
	f.plugin = f.startPlugin()
	t.Cleanup(func() { f.plugin.stop(t) })
	waitStatus(t, f.stateDir, "the plugin synchronised", func(s plugin.Status) bool { return s.Connected && !s.Synchronized.IsZero() })

	pod, err := n.RunPod("faults", "matrix")
	if err != nil {
		t.Fatal(err)
	}
	f.pod = pod
	for i := range 3 {
		id, err := n.CreateContainer(pod, fmt.Sprintf("app-%d", i), false, "sleep", "3600")
		if err != nil {
			t.Fatal(err)
		}
		f.ctrs = append(f.ctrs, id)
	}
	return f
}

func (f *faultEnv) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// configText is the wrapper configuration of a fail mode.
func (f *faultEnv) configText(mode string, policy bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "event_log = %q\nstate_dir = %q\ninteractive_action = \"alert\"\nfail_mode = %q\n", f.eventLog, f.stateDir, mode)
	if policy {
		fmt.Fprintf(&b, "policy = %q\npolicy_compiler = %q\n", f.policyPath, filepath.Join(f.bin, "execguard"))
	}
	fmt.Fprintf(&b, "\n[runtimes]\nrunc = %q\n", f.runcLink)
	return b.String()
}

func (f *faultEnv) writeConfig(mode string, policy bool) {
	f.replaceConfig([]byte(f.configText(mode, policy)), 0o644)
}

// replaceConfig puts a new file in the configuration's place by rename, as
// an editor or a configuration manager does.
func (f *faultEnv) replaceConfig(data []byte, perm os.FileMode) {
	replaceFileMode(f.t, f.configPath, data, perm)
}

// writePolicy writes a valid policy: the default one (log every exec and
// container start, alert on interactive ones).
func (f *faultEnv) writePolicy() {
	root, err := moduleRoot()
	f.must(err)
	data, err := os.ReadFile(filepath.Join(root, "detect", "policy", "default.yaml"))
	f.must(err)
	f.replacePolicy(data)
}

func (f *faultEnv) replacePolicy(data []byte) { replaceFileMode(f.t, f.policyPath, data, 0o644) }

func replaceFileMode(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// coverDefaultDirs mounts an empty tmpfs over the default event log's
// directory and the default state directory until the test ends, so that a
// wrapper sent to its defaults writes there and not to the host's files.
func coverDefaultDirs(t *testing.T) {
	t.Helper()
	for _, dir := range []string{filepath.Dir(config.DefaultEventLog), state.DefaultDir} {
		_, err := os.Stat(dir)
		created := errors.Is(err, fs.ErrNotExist)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=16m,mode=0755"); err != nil {
			t.Fatalf("cover %s: %v", dir, err)
		}
		t.Cleanup(func() {
			if err := unix.Unmount(dir, 0); err != nil {
				_ = unix.Unmount(dir, unix.MNT_DETACH)
			}
			if created {
				_ = os.Remove(dir)
			}
		})
	}
}

// replaceDirByFile moves dir aside and puts a regular file in its place, so
// that every path below it fails (ENOTDIR), for root too; the function it
// returns puts the directory back.
func replaceDirByFile(f *faultEnv, dir string) func() {
	aside := dir + ".aside"
	f.must(os.Rename(dir, aside))
	for i := 0; ; i++ {
		err := os.WriteFile(dir, []byte("not a directory\n"), 0o600)
		if err == nil {
			break
		}
		// A writer (the wrapper, the plugin) may have made the directory
		// again meanwhile.
		if i == 5 {
			f.t.Fatal(err)
		}
		f.must(os.RemoveAll(dir))
	}
	return func() {
		f.must(os.Remove(dir))
		f.must(os.Rename(aside, dir))
	}
}

// fillUp writes to path until the file system is full.
func fillUp(t *testing.T, path string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	buf := make([]byte, 512)
	for {
		if _, err := fh.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			return
		}
	}
}

// padLastPage appends a line to the log at path that leaves at most room
// bytes free in the file's last page (tmpfs allocates whole pages, so a full
// file system still takes that much), holding the writers' lock at lockPath
// so no event is written across it. The line is JSON without event.kind:
// nothing counts it as an event.
func padLastPage(t *testing.T, path, lockPath string, room int) {
	t.Helper()
	lock, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatalf("lock %s: %v", lockPath, err)
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		t.Fatal(err)
	}
	page := int64(os.Getpagesize())
	free := int(page-fi.Size()%page) % int(page)
	const frame = len(`{"execguard_test_padding":""}` + "\n")
	if free-room < frame {
		return // already less than an event's room (or no room at all)
	}
	line := `{"execguard_test_padding":"` + strings.Repeat("x", free-room-frame) + `"}` + "\n"
	if _, err := fh.WriteString(line); err != nil {
		t.Fatalf("pad %s: %v", path, err)
	}
}

// pluginProc is an NRI plugin daemon (execguard nri run) the test runs and kills.
type pluginProc struct {
	cmd    *exec.Cmd
	exited chan error
}

func (f *faultEnv) startPlugin() *pluginProc {
	f.t.Helper()
	cfg := filepath.Join(f.dir, "nri.toml")
	if err := os.WriteFile(cfg, []byte("status_interval = \"20ms\"\nlog_level = \"debug\"\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(f.bin, "execguard"), "nri", "run", "--config", cfg, "--socket", f.node.NRISocket(),
		"--execguard-config", f.configPath, "--log-file", f.pluginLog)
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	p := &pluginProc{cmd: cmd, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	return p
}

func (p *pluginProc) kill(t *testing.T) {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

func (p *pluginProc) stop(t *testing.T) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- err // a second stop finds it gone
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Error("plugin did not stop on SIGTERM")
	}
}

// faultRun is one case in one fail mode while it runs.
type faultRun struct {
	tag      string
	mode     string
	extra    []source // further logs the case's events may be in
	cleanups []func()
	markers  []string // every exec the run made
	mu       sync.Mutex
	seq      int
}

func (r *faultRun) marker(kind string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	m := fmt.Sprintf("fm-%s-%s-%d", r.tag, kind, r.seq)
	r.markers = append(r.markers, m)
	return m
}

// observation is what one case in one fail mode showed: the doc's row.
type observation struct {
	c                   faultCase
	mode                string
	logged              string
	interactive         string
	lifecycle           string
	events              string
	stderr              string
	ttyBurst, ttyRefuse int
	// ttyRefuseUnseen counts refused interactive execs whose refusal never
	// reached the client's terminal (CRI-O: the stream ended first).
	ttyRefuseUnseen int
}

// probeResult is one exec made while the fault lasts.
type probeResult struct {
	marker string
	out    string
	stderr string
	err    error
}

func (p probeResult) refused() bool { return p.err != nil && refusal(p.out) }

// refusal reports whether an exec's output carries execguard's refusal (a
// decision), not another error of the wrapper's (exit 127 and its message).
func refusal(out string) bool {
	for _, l := range strings.Split(out, "\n") {
		if refusalOf(l) {
			return true
		}
	}
	return false
}

// refusalOf reports whether one line is a refusal: it names the refused
// call. A warning that says a file was refused (a configuration others may
// write) is none: stderrDiags tells such a warning that reached an exec's
// client from the refusal.
func refusalOf(line string) bool {
	for _, what := range []string{"execguard: interactive ", "execguard: shell ", "execguard: exec into "} {
		if strings.Contains(line, what) && (strings.Contains(line, " refused") || strings.Contains(line, " blocked")) {
			return true
		}
	}
	return false
}

func (f *faultEnv) run(t *testing.T, c faultCase, mode string) observation {
	r := &faultRun{tag: c.id + "-" + mode, mode: mode}
	obs := observation{c: c, mode: mode}
	defer func() {
		for i := len(r.cleanups) - 1; i >= 0; i-- {
			r.cleanups[i]()
		}
	}()
	f.writeConfig(mode, c.policy)
	if c.policy {
		// Compiles the policy: it becomes the last good one.
		if _, err := f.node.Exec(f.ctrs[0], "echo", r.marker("prime")); err != nil {
			t.Fatal(err)
		}
	}
	countersBefore := f.counters()
	rejectedBefore := f.rejected()

	// The burst; the fault is injected once a few of its execs are done.
	execs := make([]node.Exec, burstExecs)
	for i := range execs {
		tty := i%burstTTYEvery == 0
		kind := "burst"
		if tty {
			kind = "burst-tty"
		}
		execs[i] = node.Exec{Container: f.ctrs[i%len(f.ctrs)], TTY: tty, Cmd: f.echo(tty, r.marker(kind))}
	}
	injectNow := make(chan struct{})
	var done atomic.Int32
	burstDone := make(chan []node.ExecResult, 1)
	go func() {
		burstDone <- f.node.RunExecs(execs, burstConcurrency, func(node.ExecResult) {
			if done.Add(1) == burstInjectAfter {
				close(injectNow)
			}
		})
	}()
	var burst []node.ExecResult
	var burstOnce sync.Once
	waitBurst := func() { burstOnce.Do(func() { burst = <-burstDone }) }
	defer waitBurst() // a case that stops early leaves no exec running into the next
	<-injectNow
	logOffsets := f.runtimeLogOffsets()
	restoreFn := c.inject(f, r)
	var restoreOnce sync.Once
	restore := func() { restoreOnce.Do(restoreFn) }
	r.cleanups = append(r.cleanups, restore)

	// While the fault lasts: an interactive and a plain exec, and a fresh
	// container's lifecycle.
	tty := probeResult{marker: r.marker("probe-tty")}
	tty.out, tty.err = f.node.ExecTTY(f.ctrs[0], f.echo(true, tty.marker)...)
	plain := probeResult{marker: r.marker("probe")}
	plain.out, plain.stderr, plain.err = f.node.ExecStreams(f.ctrs[1], "echo", plain.marker)
	during := f.lifecycle(r, "during")
	diags := f.runtimeLogSince(logOffsets)
	if f.front == frontCRIO {
		// What the exec's client shows: a refusal, and nothing else of
		// execguard's (its warnings name node paths and its troubles).
		for what, out := range map[string]string{"crictl exec -it terminal": tty.out, "crictl exec stdout": plain.out, "crictl exec stderr": plain.stderr} {
			if l := stderrDiags(f, out); len(l) > 0 {
				t.Errorf("%s shows execguard's diagnostics: %q", what, l)
			}
		}
	}
	where := f.locate(t, r, tty.marker, plain.marker)
	probeDocs := f.execDocs(t, r, tty.marker)

	restore()
	waitBurst()
	// After: an exec appends to the log again, which replays the spool.
	if _, err := f.node.Exec(f.ctrs[2], "echo", r.marker("after")); err != nil {
		t.Errorf("exec after the fault: %v", err)
	}
	after := f.lifecycle(r, "after")
	drained := f.waitSpoolsEmpty()
	countersAfter := f.waitCountersSettled(countersBefore)

	// Interactive execs, per fail mode.
	wantRefused := slices.Contains(c.refusedIn, mode)
	switch {
	case tty.refused() || f.unseenRefusal(true, tty.out, tty.err):
		obs.interactive = "refused: " + f.shorten(refusalLine(tty.out))
		if !tty.refused() {
			obs.interactive = "refused, without the refusal on the terminal: " + oneLine(tty.out)
		}
		if !wantRefused {
			obs.interactive += " (expected: allowed)"
			t.Errorf("interactive exec refused in fail mode %s while the fault lasted: %s", mode, strings.TrimSpace(tty.out))
		}
	case tty.err != nil:
		obs.interactive = "failed: " + oneLine(tty.err.Error())
		t.Errorf("interactive exec failed, not for a reason of execguard's: %v\n%s", tty.err, tty.out)
	default:
		obs.interactive = "allowed"
		if wantRefused {
			obs.interactive += " (expected: refused, " + c.refusedWhy + ")"
			t.Errorf("interactive exec ran in fail mode %s while the fault lasted, want it refused (%s)", mode, c.refusedWhy)
		}
		if !strings.Contains(tty.out, tty.marker) {
			t.Errorf("interactive exec printed %q, want %s", tty.out, tty.marker)
		}
	}
	if plain.err != nil || strings.TrimSpace(plain.out) != plain.marker {
		t.Errorf("non-interactive exec while the fault lasted: %v, printed %q, stderr %q", plain.err, plain.out, plain.stderr)
	}
	obs.stderr = f.shorten(strings.TrimSpace(plain.stderr))

	// The burst: plain execs all ran; interactive ones ran or were refused
	// by execguard, refused only in a fail mode that refuses them.
	for _, res := range burst {
		switch {
		case res.Err == nil:
			if m := res.Cmd[len(res.Cmd)-1]; !strings.Contains(res.Output, m) {
				t.Errorf("burst exec %s printed %q", m, res.Output)
			}
			if l := stderrDiags(f, res.Output); len(l) > 0 && f.front == frontCRIO {
				t.Errorf("burst: exec %s shows execguard's diagnostics: %q", res.Cmd[len(res.Cmd)-1], l)
			}
		case res.TTY && (refusal(res.Output) || f.unseenRefusal(res.TTY, res.Output, res.Err)):
			if l := stderrDiags(f, res.Output); len(l) > 0 && f.front == frontCRIO {
				t.Errorf("burst: a refused exec's terminal shows execguard's diagnostics besides the refusal: %q", l)
			}
			obs.ttyRefuse++
			if !refusal(res.Output) {
				obs.ttyRefuseUnseen++
			}
			if !wantRefused {
				t.Errorf("burst: interactive exec %s refused in fail mode %s: %s", res.Cmd[len(res.Cmd)-1], mode, refusalLine(res.Output))
			}
		default:
			t.Errorf("burst: %v\n%s", res.Err, res.Output)
		}
		if res.TTY {
			obs.ttyBurst++
		}
	}

	// The burst's containers still run.
	if out, err := f.node.Crictl("ps", "--state", "Running", "--quiet"); err != nil {
		t.Errorf("list running containers: %v", err)
	} else {
		for _, id := range f.ctrs {
			if !strings.Contains(out, id) {
				t.Errorf("container %s no longer runs after the fault", id)
			}
		}
	}

	// Lifecycle of a fresh container, during and after the fault.
	var failed []string
	for _, l := range append(during, after...) {
		if l.err != nil {
			failed = append(failed, l.name+": "+oneLine(l.err.Error()))
			t.Errorf("lifecycle %s: %v", l.name, l.err)
		}
	}
	obs.lifecycle = fmt.Sprintf("all %d succeeded (pod run, container create+start, exec, stop, remove, pod remove; during and after)", len(during)+len(after))
	if len(failed) > 0 {
		obs.lifecycle = fmt.Sprintf("%d of %d failed: %s", len(failed), len(during)+len(after), strings.Join(failed, "; "))
	}

	// What was logged while the fault lasted, and where.
	var problems []string
	for _, d := range probeDocs {
		for _, p := range []string{d.str("error.message"), d.str("execguard.policy_error")} {
			p = f.shorten(p)
			if p != "" && !slices.Contains(problems, p) {
				problems = append(problems, p)
			}
		}
	}
	if c.problem != "" && !strings.Contains(strings.ToLower(strings.Join(problems, " ")), strings.ToLower(c.problem)) {
		t.Errorf("the exec event while the fault lasted does not mention %q: error.message/policy_error %q", c.problem, problems)
	}
	switch {
	case c.spooled && !slices.Contains(where, "spool"):
		t.Errorf("events while the fault lasted went to %v, want the spool", where)
	case c.defaults && !slices.Contains(where, "default log "+config.DefaultEventLog):
		t.Errorf("events while the fault lasted went to %v, want the default log", where)
	case c.lost && len(where) > 0:
		t.Errorf("events while the fault lasted went to %v, want them lost", where)
	case !c.spooled && !c.defaults && !c.lost && len(where) == 0:
		t.Errorf("no event of the execs made while the fault lasted found anywhere")
	}
	// On CRI-O the diagnostics file is under the state directory, which this
	// fault takes away too: the loss goes to the system log (and the
	// closed-mode refusal says so).
	if c.lost && f.front != frontCRIO && !strings.Contains(strings.Join(diags, "\n"), "event lost") {
		t.Errorf("the runtime's log does not report the lost events; its execguard lines: %q", diags)
	}
	obs.logged = "events to " + orNone(strings.Join(where, ", "))
	if c.lost && len(where) == 0 {
		obs.logged = "events lost (in no log, no spool)"
	}
	if len(problems) > 0 {
		obs.logged += "; error.message: " + clip(strings.Join(problems, "; "), 160)
	}
	if len(diags) > 0 {
		obs.logged += "; runtime log: " + clip(strings.Join(diags, "; "), 160)
	}

	// Accounting: every exec has exactly one event, in a log or still in the
	// spool, or is counted lost; the spool is replayed once the fault is gone.
	inLogs, inSpool := f.account(t, r)
	missing := 0
	for _, m := range r.markers {
		switch n := inLogs[m] + inSpool[m]; {
		case n == 0:
			missing++
		case n > 1:
			t.Errorf("exec %s has %d events (%d in logs, %d spooled)", m, n, inLogs[m], inSpool[m])
		}
	}
	spooledNow := sumValues(inSpool)
	delta := sub(countersAfter, countersBefore)
	if int64(missing) > delta.Lost && !c.lost {
		t.Errorf("%d of %d execs have no event and the lost counter rose by %d: losses not reported", missing, len(r.markers), delta.Lost)
	}
	if !drained || spooledNow > 0 {
		t.Errorf("the spool still holds %d exec events after the fault was undone and the log written again", spooledNow)
	}
	if n := f.rejected() - rejectedBefore; n > 0 {
		t.Errorf("%d spooled files were rejected as not whole records", n)
	}
	if c.spooled && delta.Spooled == 0 {
		t.Errorf("the spooled counter did not rise (%+v -> %+v)", countersBefore, countersAfter)
	}
	if delta.Replayed != delta.Spooled {
		t.Errorf("counters: %d spooled, %d replayed over the case", delta.Spooled, delta.Replayed)
	}
	obs.events = fmt.Sprintf("%d execs: %d events in logs, %d left in spool, %d missing; counters +%d spooled, +%d replayed, +%d lost",
		len(r.markers), len(r.markers)-missing-countNonZero(inSpool, inLogs), countNonZero(inSpool, inLogs), missing,
		delta.Spooled, delta.Replayed, delta.Lost)
	t.Logf("%s [%s]: logged: %s | interactive: %s | lifecycle: %s | events: %s | exec stderr: %q",
		c.id, mode, obs.logged, obs.interactive, obs.lifecycle, obs.events, obs.stderr)
	return obs
}

// runtimeLogOffsets notes how far the runtime logs of the burst's
// containers go; on the shim front, how far containerd's log goes (the
// shim's log is copied there), under the key "".
func (f *faultEnv) runtimeLogOffsets() map[string]int64 {
	offsets := map[string]int64{}
	if f.front == frontShim {
		if fi, err := os.Stat(f.node.LogFile()); err == nil {
			offsets[""] = fi.Size()
		}
		return offsets
	}
	if f.front == frontCRIO {
		for _, p := range f.diagFiles() {
			if fi, err := os.Stat(p); err == nil {
				offsets[p] = fi.Size()
			}
		}
		return offsets
	}
	for _, id := range f.ctrs {
		if log := f.node.RuntimeLog(id); log == "" {
			continue
		} else if fi, err := os.Stat(log); err == nil {
			offsets[id] = fi.Size()
		}
	}
	return offsets
}

// diagFiles are the wrapper's diagnostics files for calls without --log:
// under the configured state directory, and under the default one for a
// wrapper sent to its defaults.
func (f *faultEnv) diagFiles() []string {
	return []string{diaglog.Path(f.stateDir), diaglog.Path(state.DefaultDir)}
}

// runtimeLogSince returns the distinct execguard messages the runtime logs
// of the burst's containers (containerd's log for the shim, the wrapper's
// diagnostics files on CRI-O) gained since offsets, container ids and paths
// shortened so that alike ones read alike.
func (f *faultEnv) runtimeLogSince(offsets map[string]int64) []string {
	var msgs []string
	var files []string
	switch f.front {
	case frontShim:
		files = []string{f.node.LogFile()}
		offsets = map[string]int64{f.node.LogFile(): offsets[""]}
	case frontCRIO:
		files = f.diagFiles()
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		from := offsets[file]
		if int64(len(b)) < from {
			if f.front != frontCRIO {
				continue
			}
			from = 0 // the diagnostics file was rotated meanwhile
		}
		for _, line := range strings.Split(string(b[from:]), "\n") {
			level, msg, ok := containerdLogEntry(line)
			if !ok || !strings.HasPrefix(msg, "execguard") {
				continue
			}
			m := level + ": " + f.shorten(msg)
			if !slices.Contains(msgs, m) {
				msgs = append(msgs, m)
			}
		}
	}
	if len(files) > 0 {
		return msgs
	}
	for _, id := range f.ctrs {
		log := f.node.RuntimeLog(id)
		if log == "" {
			continue
		}
		b, err := os.ReadFile(log)
		if err != nil || int64(len(b)) < offsets[id] {
			continue
		}
		for _, line := range strings.Split(string(b[offsets[id]:]), "\n") {
			var l struct{ Level, Msg string }
			if json.Unmarshal([]byte(line), &l) != nil || !strings.HasPrefix(l.Msg, "execguard") {
				continue
			}
			m := l.Level + ": " + f.shorten(l.Msg)
			if !slices.Contains(msgs, m) {
				msgs = append(msgs, m)
			}
		}
	}
	return msgs
}

// stderrDiags returns the distinct execguard lines of an exec's output
// that are no refusal, shortened like runtimeLogSince's: diagnostics that
// reached the exec's client.
func stderrDiags(f *faultEnv, stderr string) []string {
	var msgs []string
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if !strings.Contains(line, "execguard") || refusalOf(line) {
			continue
		}
		m := "stderr: " + f.shorten(line)
		if !slices.Contains(msgs, m) {
			msgs = append(msgs, m)
		}
	}
	return msgs
}

// containerdLogPattern matches the level and the quoted message of a line of
// containerd's log (logrus text format), where the shims' logs are copied.
var containerdLogPattern = regexp.MustCompile(`\blevel=(\w+) msg="((?:[^"\\]|\\.)*)"`)

// containerdLogEntry returns the level and message of a containerd log line
// (logrus text format: key=value pairs, values quoted where needed).
func containerdLogEntry(line string) (level, msg string, ok bool) {
	m := containerdLogPattern.FindStringSubmatch(line)
	if m == nil {
		return "", "", false
	}
	msg, err := strconv.Unquote(`"` + m[2] + `"`)
	if err != nil {
		return "", "", false
	}
	return m[1], msg, true
}

func TestContainerdLogEntry(t *testing.T) {
	tests := []struct {
		line       string
		level, msg string
		ok         bool
	}{
		{`time="2026-01-01T00:00:00Z" level=error msg="execguard: event lost: open \"/x\": not a directory" namespace=k8s.io`,
			"error", `execguard: event lost: open "/x": not a directory`, true},
		{`time="2026-01-01T00:00:00Z" level=warning msg="execguard: end event of a/b spooled: a\\b" runtime=io.containerd.runc.v2`,
			"warning", `execguard: end event of a/b spooled: a\b`, true},
		{`time="2026-01-01T00:00:00Z" level=info msg=started`, "", "", false},
		{`not a log line`, "", "", false},
	}
	for _, tt := range tests {
		level, msg, ok := containerdLogEntry(tt.line)
		if level != tt.level || msg != tt.msg || ok != tt.ok {
			t.Errorf("containerdLogEntry(%q) = %q, %q, %v; want %q, %q, %v", tt.line, level, msg, ok, tt.level, tt.msg, tt.ok)
		}
	}
}

// shorten replaces the test's directories in a message by names that say
// what they are.
func (f *faultEnv) shorten(s string) string {
	s = strings.ReplaceAll(s, f.dir, "<dir>")
	s = strings.ReplaceAll(s, f.node.Dir(), "<node>")
	s = replaceIDs(s)
	for i := 0; i < len(s); i++ { // spool record names hold times and ids
		if j := strings.Index(s[i:], "/spool/"); j >= 0 {
			k := i + j + len("/spool/")
			end := k
			for end < len(s) && s[end] != ' ' && s[end] != ':' && s[end] != ',' {
				end++
			}
			s = s[:k] + "<record>" + s[end:]
			i = k
			continue
		}
		break
	}
	return s
}

// replaceIDs replaces container and exec ids (64 hex digits) by <id>.
func replaceIDs(s string) string {
	var b strings.Builder
	run := 0
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isHex(s[i]) {
			run++
			continue
		}
		if run == 64 {
			b.WriteString("<id>")
		} else {
			b.WriteString(s[i-run : i])
		}
		run = 0
		if i < len(s) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// lifecycleStep is one operation on a fresh container.
type lifecycleStep struct {
	name string
	err  error
}

// lifecycle runs a fresh pod (its sandbox container goes through the
// runtime too) and in it creates, starts, execs in, stops and removes a fresh
// container, then removes the pod.
func (f *faultEnv) lifecycle(r *faultRun, phase string) (steps []lifecycleStep) {
	name := "lc-" + phase + "-" + r.tag
	step := func(what string, err error) bool {
		steps = append(steps, lifecycleStep{phase + " " + what, err})
		return err == nil
	}
	pod, err := f.node.RunPod(name, "matrix")
	if !step("run pod", err) {
		return steps
	}
	defer func() { step("remove pod", f.node.RemovePod(pod)) }()
	id, err := f.node.CreateContainer(pod, "app", false, "sleep", "3600")
	step("create+start container", err)
	if id == "" {
		return steps
	}
	if err == nil {
		m := r.marker("lifecycle")
		out, err := f.node.Exec(id, "echo", m)
		if err == nil && strings.TrimSpace(out) != m {
			err = fmt.Errorf("printed %q", out)
		}
		step("exec", err)
	}
	_, err = f.node.Crictl("stop", "--timeout", "0", id)
	step("stop container", err)
	_, err = f.node.Crictl("rm", id)
	step("remove container", err)
	return steps
}

// source is a place events can be: a log, or a spool directory of records.
type source struct {
	label string
	path  string
	spool bool
}

func (f *faultEnv) sources(r *faultRun) []source {
	s := []source{
		{label: "configured log", path: f.eventLog},
		{label: "default log " + config.DefaultEventLog, path: config.DefaultEventLog},
		{label: "fallback log", path: filepath.Join(state.DefaultDir, "events.ndjson")},
		{label: "spool", path: filepath.Join(f.stateDir, eventlog.SpoolDir), spool: true},
		{label: "default spool", path: filepath.Join(state.DefaultDir, eventlog.SpoolDir), spool: true},
	}
	return append(s, r.extra...)
}

// read returns the documents of a source; a missing one has none. Every
// line must be one whole JSON document.
func (s source) read(t *testing.T, reported map[string]bool) []doc {
	t.Helper()
	if !s.spool {
		return readDocs(t, s.path, reported)
	}
	var docs []doc
	for _, rec := range spooledRecords(s.path) {
		docs = append(docs, readDocs(t, rec, reported)...)
	}
	return docs
}

// readDocs reads a log or a spooled record; a defect is reported once.
func readDocs(t *testing.T, path string, reported map[string]bool) []doc {
	t.Helper()
	report := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if !reported[msg] {
			reported[msg] = true
			t.Error(msg)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		report("%s does not end with a newline: torn last line %q", path, clip(tail(string(b), 1), 200))
	}
	var docs []doc
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for i := 1; sc.Scan(); i++ {
		var d doc
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		if err := dec.Decode(&d); err != nil || dec.More() {
			report("%s line %d is not one whole JSON document (torn or merged): %v: %s", path, i, err, clip(sc.Text(), 200))
			continue
		}
		docs = append(docs, d)
	}
	return docs
}

// execMarker is the marker of an exec event: its command's last argument.
func execMarker(d doc) string {
	if d.str("event.kind") != "event" || actionOf(d) != "exec" {
		return ""
	}
	args := d.strs("process.args")
	if len(args) == 0 {
		return ""
	}
	return args[len(args)-1]
}

// locate names the sources holding the exec events of markers.
func (f *faultEnv) locate(t *testing.T, r *faultRun, markers ...string) []string {
	var where []string
	for _, s := range f.sources(r) {
		for _, d := range s.read(t, f.reported) {
			if slices.Contains(markers, execMarker(d)) && !slices.Contains(where, s.label) {
				where = append(where, s.label)
			}
		}
	}
	return where
}

// execDocs returns the exec events of marker wherever they are.
func (f *faultEnv) execDocs(t *testing.T, r *faultRun, marker string) []doc {
	var out []doc
	for _, s := range f.sources(r) {
		for _, d := range s.read(t, f.reported) {
			if execMarker(d) == marker {
				out = append(out, d)
			}
		}
	}
	return out
}

// account counts the run's exec events in the logs and in the spools.
func (f *faultEnv) account(t *testing.T, r *faultRun) (inLogs, inSpool map[string]int) {
	inLogs, inSpool = map[string]int{}, map[string]int{}
	for _, s := range f.sources(r) {
		for _, d := range s.read(t, f.reported) {
			m := execMarker(d)
			if !strings.HasPrefix(m, "fm-"+r.tag+"-") {
				continue
			}
			if s.spool {
				inSpool[m]++
			} else {
				inLogs[m]++
			}
		}
	}
	return inLogs, inSpool
}

// waitSpoolsEmpty waits for the spools to be replayed (the next successful
// append, or the plugin's periodic replay); false if they are not.
func (f *faultEnv) waitSpoolsEmpty() bool {
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := 0
		for _, dir := range []string{filepath.Join(f.stateDir, eventlog.SpoolDir), filepath.Join(state.DefaultDir, eventlog.SpoolDir)} {
			n += len(spooledRecords(dir))
		}
		if n == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// noteFailure keeps the summary of a case t failed (its row is rows[row],
// absent when the case stopped early), to repeat at the end.
func (f *faultEnv) noteFailure(t *testing.T, row int) {
	switch {
	case !t.Failed():
	case row < len(f.rows):
		r := f.rows[row]
		f.failed = append(f.failed, fmt.Sprintf("%s: logged: %s | interactive: %s | lifecycle: %s | events: %s", t.Name(), r.logged, r.interactive, r.lifecycle, r.events))
	default:
		f.failed = append(f.failed, t.Name()+": stopped early")
	}
}

// waitCountersSettled returns the counters once every record spooled since
// before has been counted replayed too: a replayer removes a record, then
// counts it, so an empty spool can be seen a moment before its count.
func (f *faultEnv) waitCountersSettled(before state.Counters) state.Counters {
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := f.counters()
		if d := sub(c, before); d.Replayed == d.Spooled || time.Now().After(deadline) {
			return c
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// counters sums the spool counters of the configured and the default
// state directory.
func (f *faultEnv) counters() state.Counters {
	var sum state.Counters
	for _, dir := range []string{f.stateDir, state.DefaultDir} {
		c, err := state.ReadCounters(dir)
		if err != nil {
			f.t.Errorf("counters of %s: %v", dir, err)
		}
		sum.Spooled += c.Spooled
		sum.Replayed += c.Replayed
		sum.Lost += c.Lost
	}
	return sum
}

// rejected counts the files replay set aside as not whole records.
func (f *faultEnv) rejected() int {
	n := 0
	for _, dir := range []string{f.stateDir, state.DefaultDir} {
		entries, _ := os.ReadDir(filepath.Join(dir, eventlog.RejectDir))
		n += len(entries)
	}
	return n
}

func sub(a, b state.Counters) state.Counters {
	return state.Counters{Spooled: a.Spooled - b.Spooled, Replayed: a.Replayed - b.Replayed, Lost: a.Lost - b.Lost}
}

// spooledRecords lists the whole records waiting in a spool directory (its
// dot files are records being written).
func spooledRecords(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// countNonZero counts the markers in a that are not also in b.
func countNonZero(a, b map[string]int) int {
	n := 0
	for k, v := range a {
		if v > 0 && b[k] == 0 {
			n++
		}
	}
	return n
}

// echo is the command of an exec that prints marker, its last argument.
// On CRI-O a terminal session stays open a moment after it: a process that
// exits at once can end CRI-O's stream before its output reaches crictl.
func (f *faultEnv) echo(tty bool, marker string) []string {
	if tty && f.front == frontCRIO {
		return []string{"sh", "-c", `echo "$0"; sleep 0.5`, marker}
	}
	return []string{"echo", marker}
}

// refusalLine is the line of an exec's output that refuses it; other lines
// (the client's own) may come first.
func refusalLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if refusalOf(l) {
			return firstLine(l, "execguard:")
		}
	}
	return firstLine(out, "execguard:")
}

func firstLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, prefix); i >= 0 {
			return clip(strings.TrimSpace(l[i:]), 200)
		}
	}
	return clip(oneLine(s), 200)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "no log or spool found"
	}
	return s
}

// writeDoc writes the outcome table of the env's front to the file
// FaultsDocEnv names: the wrapper's table first, then the shim's section.
// Each test replaces its own part and keeps the other's, so the two tests
// can run alone or together, in either order.
func (f *faultEnv) writeDoc() {
	path := os.Getenv(FaultsDocEnv)
	if path == "" {
		return
	}
	if !filepath.IsAbs(path) {
		root, err := moduleRoot()
		f.must(err)
		path = filepath.Join(root, path)
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.t.Errorf("read %s: %v", path, err)
		return
	}
	doc := mergeFaultsDoc(string(old), f.front, f.docTable())
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		f.t.Errorf("write %s: %v", path, err)
	}
}

// faultsDocSections are the fronts whose tables follow the wrapper's, in
// order, with the heading and introduction of each one's section.
var faultsDocSections = []struct {
	front          front
	heading, intro string
}{
	{frontShim, faultsDocShimHeading, faultsDocShimIntro},
	{frontCRIO, faultsDocCRIOHeading, faultsDocCRIOIntro},
}

// mergeFaultsDoc puts the table of front fr into the faults doc old, keeping
// the other fronts' parts.
func mergeFaultsDoc(old string, fr front, table string) string {
	// Cut old at each section's heading, from the last one back.
	parts := map[front]string{}
	rest := old
	for i := len(faultsDocSections) - 1; i >= 0; i-- {
		sec := faultsDocSections[i]
		if before, after, ok := strings.Cut(rest, sec.heading); ok {
			parts[sec.front] = sec.heading + after
			rest = before
		}
	}
	wrapperPart := rest
	if !strings.HasPrefix(wrapperPart, "# Faults") {
		wrapperPart = faultsDocIntro + faultsDocNoWrapperTable
	}
	if fr == frontWrapper {
		wrapperPart = faultsDocIntro + table
	}
	out := []string{wrapperPart}
	for _, sec := range faultsDocSections {
		if sec.front == fr {
			parts[fr] = sec.heading + sec.intro + table
		}
		if parts[sec.front] != "" {
			out = append(out, parts[sec.front])
		}
	}
	for i := range len(out) - 1 {
		out[i] = strings.TrimRight(out[i], "\n") + "\n\n"
	}
	return strings.Join(out, "")
}

// TestMergeFaultsDoc checks that each front's table replaces its own part of
// the faults doc only.
func TestMergeFaultsDoc(t *testing.T) {
	wrapperDoc := faultsDocIntro + "| wrapper v1 |\n"
	bothDoc := faultsDocIntro + "| wrapper v1 |\n\n" + faultsDocShimHeading + faultsDocShimIntro + "| shim v1 |\n"
	allDoc := bothDoc + "\n" + faultsDocCRIOHeading + faultsDocCRIOIntro + "| crio v1 |\n"
	tests := []struct {
		name  string
		old   string
		front front
		table string
		want  string
	}{
		{"wrapper into nothing", "", frontWrapper, "| wrapper v1 |\n", wrapperDoc},
		{"wrapper replaces wrapper", wrapperDoc, frontWrapper, "| wrapper v2 |\n", faultsDocIntro + "| wrapper v2 |\n"},
		{"shim after wrapper", wrapperDoc, frontShim, "| shim v1 |\n", bothDoc},
		{"wrapper keeps shim", bothDoc, frontWrapper, "| wrapper v2 |\n",
			faultsDocIntro + "| wrapper v2 |\n\n" + faultsDocShimHeading + faultsDocShimIntro + "| shim v1 |\n"},
		{"shim replaces shim", bothDoc, frontShim, "| shim v2 |\n",
			faultsDocIntro + "| wrapper v1 |\n\n" + faultsDocShimHeading + faultsDocShimIntro + "| shim v2 |\n"},
		{"shim into nothing", "", frontShim, "| shim v1 |\n",
			faultsDocIntro + faultsDocNoWrapperTable + "\n" + faultsDocShimHeading + faultsDocShimIntro + "| shim v1 |\n"},
		{"crio after both", bothDoc, frontCRIO, "| crio v1 |\n", allDoc},
		{"crio replaces crio", allDoc, frontCRIO, "| crio v2 |\n",
			strings.Replace(allDoc, "| crio v1 |", "| crio v2 |", 1)},
		{"shim replaces shim before crio", allDoc, frontShim, "| shim v2 |\n",
			strings.Replace(allDoc, "| shim v1 |", "| shim v2 |", 1)},
		{"wrapper keeps shim and crio", allDoc, frontWrapper, "| wrapper v2 |\n",
			strings.Replace(allDoc, "| wrapper v1 |", "| wrapper v2 |", 1)},
		{"crio after wrapper only", wrapperDoc, frontCRIO, "| crio v1 |\n",
			faultsDocIntro + "| wrapper v1 |\n\n" + faultsDocCRIOHeading + faultsDocCRIOIntro + "| crio v1 |\n"},
		{"shim into wrapper and crio", faultsDocIntro + "| wrapper v1 |\n\n" + faultsDocCRIOHeading + faultsDocCRIOIntro + "| crio v1 |\n",
			frontShim, "| shim v1 |\n", allDoc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mergeFaultsDoc(tt.old, tt.front, tt.table); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// docTable renders the env's observations as the doc's table.
func (f *faultEnv) docTable() string {
	byCase := map[string]map[string]observation{}
	var order []string
	for _, o := range f.rows {
		if byCase[o.c.id] == nil {
			byCase[o.c.id] = map[string]observation{}
			order = append(order, o.c.id)
		}
		byCase[o.c.id][o.mode] = o
	}
	var b strings.Builder
	b.WriteString("| Fault | What is logged (fail mode open; closed where different) | Interactive exec: open | Interactive exec: closed | Container lifecycle | Events |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }
	for _, id := range order {
		open, closed := byCase[id]["open"], byCase[id]["closed"]
		logged := open.logged
		if closed.logged != open.logged {
			logged = "open: " + open.logged + "<br>closed: " + closed.logged
		}
		if open.stderr != "" {
			logged += "<br>exec stderr: `" + clip(open.stderr, 200) + "`"
		}
		life := open.lifecycle
		if closed.lifecycle != open.lifecycle {
			life = "open: " + open.lifecycle + "<br>closed: " + closed.lifecycle
		}
		events := "open: " + open.events + "<br>closed: " + closed.events
		if open.events == closed.events {
			events = open.events
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", cell(open.c.fault), cell(logged),
			cell(open.interactive+burstNote(open)), cell(closed.interactive+burstNote(closed)), cell(life), cell(events))
	}
	return b.String()
}

func burstNote(o observation) string {
	if o.ttyRefuseUnseen > 0 {
		return fmt.Sprintf(" (burst: %d of %d interactive execs refused, %d of them without the refusal on the terminal)", o.ttyRefuse, o.ttyBurst, o.ttyRefuseUnseen)
	}
	return fmt.Sprintf(" (burst: %d of %d interactive execs refused)", o.ttyRefuse, o.ttyBurst)
}

// klogLine matches a line of crictl's own log (klog's header).
var klogLine = regexp.MustCompile(`^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+ +\d+ \S+:\d+\] `)

// unseenRefusal reports whether a terminal exec on CRI-O failed with the
// wrapper's refusal status (1) and printed nothing of its own: CRI-O can end
// the stream of a process that exits at once before its output reaches the
// client, so the refusal the wrapper wrote to the terminal may never show.
func (f *faultEnv) unseenRefusal(tty bool, out string, err error) bool {
	if f.front != frontCRIO || !tty || err == nil {
		return false
	}
	rest := strings.TrimSpace(strings.ReplaceAll(out, "\r", ""))
	for _, l := range strings.Split(rest, "\n") {
		l = strings.TrimSpace(l)
		// crictl's own log lines (klog: E1202 20:21:29.980233 ...) about
		// the stream it lost are no output of the exec's.
		if l == "" || strings.HasPrefix(l, "execguard: ") || strings.Contains(l, "command terminated with exit code 1") || klogLine.MatchString(l) {
			continue
		}
		return false
	}
	return strings.Contains(rest, "command terminated with exit code 1")
}

const faultsDocIntro = `# Faults: what execguard does when its surroundings break

Each row is one fault, made on a real containerd 2 node (CRI, the runc shim,
runc behind the execguard wrapper, the execguard NRI plugin) while a burst of
36 execs (every third one interactive, ` + "`crictl exec -it`" + `, six in flight,
across three containers) runs. The fault is made after eight execs of the
burst are done; while it lasts an interactive and a plain exec are made, and
a fresh pod is run with a fresh container that is created, started, exec'd
into, stopped and removed before the pod is; then the fault is undone, and
another exec and another fresh pod and container's lifecycle follow. Each
case runs in fail mode open and closed.

"Events" accounts for every exec the case made: its exec event in a log
(the configured one, a rotated or moved-away one, or the default one when
the configuration was not usable), still in the spool, or missing; and the
spool counters over the case.

The tables are written by the end-to-end tests that observe them
(TestFaultMatrix for the wrapper, TestFaultMatrixShim for the shim,
TestFaultMatrixCRIO for CRI-O):

    EXECGUARD_FAULTS_DOC=docs/faults.md go test -tags e2e -count=1 -run TestFaultMatrix ./test/e2e/

`

// faultsDocNoWrapperTable stands for the wrapper's table until it is written.
const faultsDocNoWrapperTable = "(The runtime wrapper's table is written by TestFaultMatrix.)\n"

// faultsDocShimHeading starts the shim's section of the faults doc.
const faultsDocShimHeading = "## execguard's shim\n"

const faultsDocShimIntro = `
The same faults, the same burst and the same accounting, on a node whose
runc handler runs execguard's shim (` + "`containerd-shim-execguard-v2`" + `,
running runc directly, with the NRI plugin). One shim serves the burst's pod
for the whole run, so each fault is made on a running shim: it sees the configuration
and the policy change at its next decision. "Configured real runtime
missing" is not a row: the shim runs the runc of the handler's
` + "`options.BinaryName`" + `, not the configured one. Where the wrapper writes to
the runtime log of the container, the shim writes to its own log, which
containerd copies to its log ("runtime log" below); it logs only events
spooled or lost there: a configuration or policy problem is in the event's
` + "`error.message`" + `, and a refusal goes back to the client (crictl prints it
with gRPC's ": permission denied"). The shim also writes an end event for
every exec and container it started, so more events go to the spool while
the log cannot take them.

`

// faultsDocCRIOHeading starts CRI-O's section of the faults doc.
const faultsDocCRIOHeading = "## CRI-O\n"

const faultsDocCRIOIntro = `
The same burst and the same accounting on a real CRI-O (crictl against
CRI-O's CRI, conmon, runc) whose runc handler's ` + "`runtime_path`" + ` is the
wrapper, with the NRI plugin on CRI-O's NRI socket (TestFaultMatrixCRIO).
CRI-O runs a streaming exec's runtime itself, on the exec's own streams
(the user's terminal for ` + "`crictl exec -it`" + `), and gives it no
` + "`--log`" + `: the wrapper's diagnostics go to its diagnostics file under the
state directory (` + "`runtime.log`" + `, "runtime log" below), and the test fails
if anything of execguard's but a refusal reaches the exec's terminal, stdout
or stderr. When the state directory itself is gone (the last rows) that file
cannot be written either, and the wrapper tells the system log. CRI-O can also end the stream
of a process that exits at once before its output reaches the client: a
refused terminal exec may show only "command terminated with exit code 1",
without execguard's reason (counted below as "without the refusal on the
terminal"; the event and the alert still say why).

`
