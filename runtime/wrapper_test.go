package runtime

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/state"
)

// The test binary doubles as the wrapper: run under a name starting with
// "execguard-", it is the wrapper's main.
func TestMain(m *testing.M) {
	if strings.HasPrefix(filepath.Base(os.Args[0]), "execguard-") {
		os.Exit(Main(os.Args))
	}
	os.Exit(m.Run())
}

// probeScript stands in for the real runtime where a test needs to see what
// the runtime received: its pid, argv, environment and open descriptors.
const probeScript = `#!/bin/sh
{
  echo "pid=$$"
  for a in "$@"; do echo "arg=$a"; done
  echo "env=$PROBE_MARK"
  for fd in /proc/$$/fd/*; do echo "fd=${fd##*/} $(readlink "$fd")"; done
} > "$PROBE_OUT"
`

type env struct {
	t       *testing.T
	dir     string
	wrapper string
	cfg     string
	events  string
	probe   string
	out     string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir,
		wrapper: filepath.Join(dir, "execguard-runc"),
		cfg:     filepath.Join(dir, "config.toml"),
		events:  filepath.Join(dir, "log", "events.ndjson"),
		probe:   filepath.Join(dir, "probe-runtime"),
		out:     filepath.Join(dir, "probe.out"),
	}
	if err := os.Symlink(self, e.wrapper); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.probe, []byte(probeScript), 0o755); err != nil {
		t.Fatal(err)
	}
	e.config("alert", "open", e.probe)
	return e
}

func (e *env) config(action, failMode, real string) {
	e.t.Helper()
	cfg := "event_log = " + strconv.Quote(e.events) + "\nstate_dir = " + strconv.Quote(filepath.Join(e.dir, "state")) +
		"\ninteractive_action = " + strconv.Quote(action) +
		"\nfail_mode = " + strconv.Quote(failMode) + "\n[runtimes]\nrunc = " + strconv.Quote(real) + "\n"
	if err := os.WriteFile(e.cfg, []byte(cfg), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

type result struct {
	code           int
	pid            int
	stdout, stderr string
}

// run executes the wrapper with args (argv[0] is the wrapper) and one extra
// inherited descriptor (fd 3).
func (e *env) run(args ...string) result {
	e.t.Helper()
	extra, err := os.Open(os.DevNull)
	if err != nil {
		e.t.Fatal(err)
	}
	defer extra.Close()
	cmd := exec.Command(e.wrapper, args...)
	cmd.ExtraFiles = []*os.File{extra}
	return e.runCmd(cmd)
}

// runCmd runs cmd, which starts the wrapper, in the wrapper's environment.
func (e *env) runCmd(cmd *exec.Cmd) result {
	e.t.Helper()
	cmd.Env = append(os.Environ(), "EXECGUARD_CONFIG="+e.cfg, "PROBE_OUT="+e.out, "PROBE_MARK=kept")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{pid: cmd.Process.Pid, stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run wrapper: %v", err)
	}
	return r
}

// diags returns the diagnostics file under the state directory ("" when
// there is none).
func (e *env) diags() string {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.dir, "state", "runtime.log"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		e.t.Fatal(err)
	}
	return string(data)
}

// probed returns what the probe runtime recorded, or nil if it never ran.
func (e *env) probed() map[string][]string {
	e.t.Helper()
	data, err := os.ReadFile(e.out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		m[k] = append(m[k], v)
	}
	return m
}

// eventDocs reads the event log, failing on any line that is not JSON.
func (e *env) eventDocs() []map[string]any {
	e.t.Helper()
	f, err := os.Open(e.events)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	var docs []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			e.t.Fatalf("event log line is not JSON: %v: %q", err, sc.Text())
		}
		docs = append(docs, m)
	}
	return docs
}

func get(doc map[string]any, path string) any {
	var cur any = doc
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// containerdExec lays out a containerd-style task directory with the
// captured CRI config.json and a process file, and returns the exec argv
// (without argv[0]) the shim would send.
func (e *env) containerdExec(processJSON string) (args []string, bundle, processFile string) {
	e.t.Helper()
	const id = "22858e7c2c55d6b8fa2db42b2c5410afaea7d1a180f5e6e3d246a8abc11e8171"
	bundle = filepath.Join(e.dir, "task", id)
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		e.t.Fatal(err)
	}
	cfg, err := os.ReadFile("testdata/runtime-calls/containerd-v2-exec-tty/config.json")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), cfg, 0o644); err != nil {
		e.t.Fatal(err)
	}
	processFile = filepath.Join(e.dir, "runc-process1")
	if err := os.WriteFile(processFile, []byte(processJSON), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return []string{"--root", filepath.Join(e.dir, "root"), "--log", filepath.Join(bundle, "log.json"), "--log-format", "json",
		"exec", "--process", processFile, "--console-socket", "/tmp/pty1/pty.sock", "--detach",
		"--pid-file", filepath.Join(bundle, "cd71db3d.pid"), id}, bundle, processFile
}

const ttyProcess = `{"terminal":true,"user":{"uid":0,"gid":0},"args":["sh"],"env":["PATH=/bin","TERM=xterm"],"cwd":"/"}`
const plainProcess = `{"user":{"uid":0,"gid":0},"args":["id"],"env":["PATH=/bin"],"cwd":"/"}`

func TestWrapperExecsRealRuntimeUnchanged(t *testing.T) {
	e := newEnv(t)
	args, _, processFile := e.containerdExec(ttyProcess)
	r := e.run(args...)
	if r.code != 0 || r.stderr != "" || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	p := e.probed()
	if p == nil {
		t.Fatal("the real runtime did not run")
	}
	if p["pid"][0] != strconv.Itoa(r.pid) {
		t.Errorf("runtime pid %s, wrapper pid %d: the wrapper forked instead of exec'ing", p["pid"][0], r.pid)
	}
	if strings.Join(p["arg"], " ") != strings.Join(args, " ") {
		t.Errorf("runtime argv = %q, want %q", p["arg"], args)
	}
	if p["env"][0] != "kept" {
		t.Errorf("environment not passed through: %q", p["env"])
	}
	fds := strings.Join(p["fd"], ", ")
	if !strings.Contains(fds, "3 "+os.DevNull) {
		t.Errorf("inherited fd 3 not passed to the runtime (fds %s)", fds)
	}
	// Nothing the wrapper opened itself may leak into the runtime.
	for _, own := range []string{e.cfg, e.events, processFile, "config.json", "machine-id", "/proc/"} {
		if strings.Contains(fds, own) {
			t.Errorf("the wrapper's own file %s leaked into the runtime (fds %s)", own, fds)
		}
	}
	if data, err := os.ReadFile(processFile); err != nil || string(data) != ttyProcess {
		t.Errorf("process file changed or removed: %q, %v", data, err)
	}
	docs := e.eventDocs()
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want event and alert", len(docs))
	}
	for path, want := range map[string]any{
		"event.kind": "event", "event.action": "exec", "process.interactive": true, "container.name": "shell",
		"orchestrator.resource.name": "feaspod", "orchestrator.namespace": "default", "execguard.exec_id": "cd71db3d",
		"container.runtime": "runc",
	} {
		if got := get(docs[0], path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if get(docs[1], "event.kind") != "alert" {
		t.Errorf("second document is not the alert: %v", get(docs[1], "event.kind"))
	}
}

func TestWrapperBlocks(t *testing.T) {
	e := newEnv(t)
	e.config("block", "open", e.probe)
	args, bundle, _ := e.containerdExec(ttyProcess)
	if err := os.WriteFile(filepath.Join(bundle, "log.json"), []byte(`{"level":"info","msg":"earlier"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.run(args...)
	if r.code == 0 {
		t.Fatal("blocked exec exited 0")
	}
	if e.probed() != nil {
		t.Fatal("the real runtime ran for a blocked exec")
	}
	want := `execguard: interactive exec into container "shell" of pod default/feaspod blocked by policy`
	if strings.TrimSpace(r.stderr) != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing", r.stdout)
	}
	logLines, err := os.ReadFile(filepath.Join(bundle, "log.json"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(logLines)), "\n")
	if len(lines) != 2 {
		t.Fatalf("log.json has %d lines, want the earlier one and the error", len(lines))
	}
	var last struct{ Level, Msg, Time string }
	if err := json.Unmarshal([]byte(lines[1]), &last); err != nil || last.Level != "error" || last.Msg != want || last.Time == "" {
		t.Errorf("log.json error line = %q (%v)", lines[1], err)
	}
	docs := e.eventDocs()
	if len(docs) != 2 || get(docs[0], "event.outcome") != "failure" || get(docs[0], "event.type").([]any)[0] != "denied" {
		t.Errorf("want a denied event and an alert, got %v", docs)
	}

	// A plain exec still runs in block mode.
	args, _, _ = e.containerdExec(plainProcess)
	if r := e.run(args...); r.code != 0 || e.probed() == nil {
		t.Errorf("plain exec in block mode: exit %d, stderr %q, runtime ran: %v", r.code, r.stderr, e.probed() != nil)
	}
}

// insert puts tok at index i of args.
func insert(args []string, i int, tok string) []string {
	out := append([]string{}, args[:i]...)
	out = append(out, tok)
	return append(out, args[i:]...)
}

func TestWrapperBadInput(t *testing.T) {
	// containerdExec's args: index 6 is "exec", index 7 its first flag.
	hostile := "{\"terminal\":true,\"args\":[\"sh\",\"\\u001b[2J\\n{}\",\"\\udcff\"],\"env\":[\"A=\\u0000\"],\"cwd\":\"/\"}"
	tests := []struct {
		name     string
		failMode string
		mutate   func(args []string, processFile string) []string
		refused  bool
		errPart  string // "" when the event must carry no error
	}{
		{"missing process file, open", "open", func(a []string, p string) []string { os.Remove(p); return a }, false, "no such file"},
		{"missing process file, closed", "closed", func(a []string, p string) []string { os.Remove(p); return a }, true, "no such file"},
		// A spec Go's decoder cannot read is hostile, not a fault: decided
		// as a process with a terminal (alerted here, refused under block),
		// whatever the fail mode.
		{"malformed process file, closed", "closed", func(a []string, p string) []string {
			os.WriteFile(p, []byte(`{"terminal":tru`), 0o600)
			return a
		}, false, "hostile, decided as a process with a terminal: malformed JSON"},
		{"unknown exec flag, open", "open", func(a []string, p string) []string { return insert(a, 7, "--frobnicate") }, false, "unknown flag"},
		{"unknown exec flag, closed", "closed", func(a []string, p string) []string { return insert(a, 7, "--frobnicate") }, true, "unknown flag"},
		// Both runtimes reject an unknown global flag themselves, and the
		// subcommand past it cannot be known: recorded, never refused.
		{"unknown global flag, closed", "closed", func(a []string, p string) []string { return insert(a, 6, "--frobnicate") }, false, "unknown flag"},
		{"control characters and invalid UTF-8", "closed", func(a []string, p string) []string {
			os.WriteFile(p, []byte(hostile), 0o600)
			return a
		}, false, ""},
		{"huge argument list", "closed", func(a []string, p string) []string {
			args := make([]string, 20000)
			for i := range args {
				args[i] = strings.Repeat("a", 50)
			}
			spec, _ := json.Marshal(map[string]any{"terminal": false, "args": args, "cwd": "/"})
			os.WriteFile(p, spec, 0o600)
			return a
		}, false, ""},
		{"missing bundle", "closed", func(a []string, p string) []string {
			a = append([]string{}, a...)
			a[len(a)-1] = "nosuchcontainer"
			return a
		}, false, "bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.config("alert", tt.failMode, e.probe)
			args, _, processFile := e.containerdExec(ttyProcess)
			args = tt.mutate(args, processFile)
			r := e.run(args...)
			if refused := r.code != 0; refused != tt.refused {
				t.Fatalf("refused = %v, want %v (stderr %q)", refused, tt.refused, r.stderr)
			}
			if ran := e.probed() != nil; ran == tt.refused {
				t.Errorf("runtime ran = %v for refused = %v", ran, tt.refused)
			}
			docs := e.eventDocs()
			if len(docs) == 0 || get(docs[0], "event.kind") != "event" {
				t.Fatalf("no event recorded (%d documents)", len(docs))
			}
			msg, _ := get(docs[0], "error.message").(string)
			if tt.errPart == "" && msg != "" {
				t.Errorf("unexpected error.message %q", msg)
			}
			if !strings.Contains(msg, tt.errPart) {
				t.Errorf("error.message = %q, want it to mention %q", msg, tt.errPart)
			}
		})
	}
}

func TestWrapperInvalidConfig(t *testing.T) {
	e := newEnv(t)
	bad := "event_log = " + strconv.Quote(e.events) + "\nstate_dir = " + strconv.Quote(filepath.Join(e.dir, "state")) + "\ninteractive_action = \"shout\"\n[runtimes]\nrunc = " + strconv.Quote(e.probe) + "\n"
	if err := os.WriteFile(e.cfg, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	// A pass-through call runs silently.
	if r := e.run("state", "x"); r.code != 0 || r.stderr != "" || e.probed() == nil {
		t.Fatalf("pass-through with a bad config: exit %d, stderr %q", r.code, r.stderr)
	}
	if d := e.diags(); !strings.Contains(d, "shout") {
		t.Errorf("pass-through with a bad config: diagnostics %q, want the warning", d)
	}
	os.Remove(filepath.Join(e.dir, "state", "runtime.log"))
	os.Remove(e.out)
	args, bundle, _ := e.containerdExec(ttyProcess)
	r := e.run(args...)
	if r.code != 0 || e.probed() == nil {
		t.Fatalf("exec with a bad config in fail-open mode: exit %d, stderr %q", r.code, r.stderr)
	}
	// The diagnostic goes where the runtime's go: containerd's --log file,
	// as a JSON line like runc's own.
	logged, _ := os.ReadFile(filepath.Join(bundle, "log.json"))
	var line struct{ Level, Msg string }
	if err := json.Unmarshal(logged, &line); err != nil || line.Level != "warning" ||
		!strings.Contains(line.Msg, `interactive_action \"shout\"`) && !strings.Contains(line.Msg, `interactive_action "shout"`) || !strings.Contains(line.Msg, e.cfg) {
		t.Errorf("runtime log %q (%v), want a warning naming the file and the bad key", logged, err)
	}
	if r.stderr != "" {
		t.Errorf("stderr = %q, want nothing when the call has a --log file", r.stderr)
	}
	// Without --log (CRI-O's streaming exec), stderr is the exec's own: the
	// diagnostics file under the state directory takes the warning.
	os.Remove(e.out)
	plain := append([]string{"exec", "--process"}, args[slices.Index(args, "--process")+1:]...)
	if r := e.run(plain...); r.stderr != "" {
		t.Errorf("stderr = %q, want nothing", r.stderr)
	}
	if d := e.diags(); !strings.Contains(d, `interactive_action \"shout\"`) || !strings.Contains(d, e.cfg) || !strings.Contains(d, "level=warning") {
		t.Errorf("diagnostics %q, want a warning naming the file and the bad key", d)
	}
	docs := e.eventDocs()
	if len(docs) != 4 {
		t.Fatalf("got %d documents, want event and alert (default action) twice", len(docs))
	}
	if msg, _ := get(docs[0], "error.message").(string); !strings.Contains(msg, "shout") {
		t.Errorf("error.message = %q", msg)
	}
}

func TestWrapperPassThroughRealRunc(t *testing.T) {
	const runc = "/usr/sbin/runc"
	if _, err := os.Stat(runc); err != nil {
		t.Fatalf("runc is required at %s: %v", runc, err)
	}
	e := newEnv(t)
	e.config("block", "closed", runc)
	for _, args := range [][]string{{"--version"}, {"features"}, {"--help"}, {"--root", e.dir, "list"}, {"--root", e.dir, "state", "nope"}} {
		direct := exec.Command(runc, args...)
		var dOut, dErr bytes.Buffer
		direct.Stdout, direct.Stderr = &dOut, &dErr
		dErrRun := direct.Run()
		r := e.run(args...)
		if r.stdout != dOut.String() {
			t.Errorf("%v: stdout differs from runc's:\n%q\n%q", args, r.stdout, dOut.String())
		}
		if (dErrRun != nil) != (r.code != 0) {
			t.Errorf("%v: wrapper exit %d, runc error %v", args, r.code, dErrRun)
		}
		if strings.Contains(r.stderr, "execguard") {
			t.Errorf("%v: the wrapper wrote to stderr: %q", args, r.stderr)
		}
	}
	if docs := e.eventDocs(); len(docs) != 0 {
		t.Errorf("pass-through calls wrote %d events", len(docs))
	}
}

func TestWrapperUnknownName(t *testing.T) {
	e := newEnv(t)
	other := filepath.Join(e.dir, "execguard-kata")
	if err := os.Symlink(e.wrapper, other); err != nil {
		t.Fatal(err)
	}
	e.wrapper = other
	r := e.run("--version")
	if r.code != 127 || !strings.Contains(r.stderr, "no kata runtime to run") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if d := e.diags(); !strings.Contains(d, `no real runtime configured for \"kata\"`) {
		t.Errorf("diagnostics %q", d)
	}
}

// TestWrapperUsesPluginRecordAndMarksCreates: the NRI plugin's record fills
// what the annotations lack, and a create leaves the coverage mark.
func TestWrapperUsesPluginRecordAndMarksCreates(t *testing.T) {
	e := newEnv(t)
	stateDir := filepath.Join(e.dir, "state")
	args, bundle, _ := e.containerdExec(ttyProcess)
	id := filepath.Base(bundle)
	rec := state.Container{ID: id, PodUID: "uid-from-plugin", PodLabels: map[string]string{"app": "web"},
		ImageDigest: "sha256:abc", RuntimeHandler: "runc"}
	if err := state.WriteContainer(stateDir, rec); err != nil {
		t.Fatal(err)
	}
	if r := e.run(args...); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	docs := e.eventDocs()
	for path, want := range map[string]any{
		"orchestrator.resource.id":        "uid-from-plugin",
		"orchestrator.resource.label.app": "web",
		"orchestrator.resource.name":      "feaspod", // from the annotations
		"execguard.image_digest":          "sha256:abc",
		"execguard.runtime_handler":       "runc",
	} {
		if got := get(docs[0], path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if ok, _ := state.Covered(stateDir, id); ok {
		t.Errorf("an exec left a coverage mark")
	}
	create := []string{"--root", filepath.Join(e.dir, "root"), "--log", filepath.Join(bundle, "log.json"), "--log-format", "json",
		"create", "--bundle", bundle, "--pid-file", filepath.Join(bundle, "init.pid"), id}
	if r := e.run(create...); r.code != 0 {
		t.Fatalf("create: exit %d: %s", r.code, r.stderr)
	}
	if ok, err := state.Covered(stateDir, id); !ok || err != nil {
		t.Errorf("create left no coverage mark: %v", err)
	}
}

// A refused exec as CRI-O's streaming exec makes it: no --log, stderr on
// the user's pty. The pty shows the reason once, on one line: no second
// "no runtime log" line, no doubled CR whether the pty translates LF
// (cooked) or not (raw).
func TestWrapperRefusalOnPTY(t *testing.T) {
	for _, raw := range []bool{false, true} {
		t.Run(map[bool]string{false: "cooked", true: "raw"}[raw], func(t *testing.T) {
			e := newEnv(t)
			e.config("block", "open", e.probe)
			args, _, _ := e.containerdExec(ttyProcess)
			args = append(args[:2:2], args[6:]...) // drop --log FILE --log-format json
			master, slave := openPTYPair(t)
			if raw {
				tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
				if err != nil {
					t.Fatal(err)
				}
				tio.Oflag &^= unix.OPOST
				if err := unix.IoctlSetTermios(int(slave.Fd()), unix.TCSETS, tio); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(e.wrapper, args...)
			cmd.Env = append(os.Environ(), "EXECGUARD_CONFIG="+e.cfg, "PROBE_OUT="+e.out)
			cmd.Stderr = slave
			err := cmd.Run()
			slave.Close()
			if err == nil || e.probed() != nil {
				t.Fatalf("exec not refused: %v", err)
			}
			out, _ := io.ReadAll(master) // EIO once the slave side is closed
			want := `execguard: interactive exec into container "shell" of pod default/feaspod blocked by policy` + "\r\n"
			if string(out) != want {
				t.Errorf("pty shows %q, want %q", out, want)
			}
		})
	}
}

// openPTYPair opens a pseudo-terminal pair, as CRI-O allocates one for a
// tty exec.
func openPTYPair(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// crun opens a relative --config from its working directory, not from the
// bundle. A create whose bundle holds a harmless rel.json while the one crun
// reads asks for a terminal is decided on the one crun reads: refused under
// block. Likewise a config padded past the 4 MiB the wrapper once read.
func TestWrapperCreateReadsWhatTheRuntimeReads(t *testing.T) {
	e := newEnv(t)
	e.config("block", "open", e.probe)
	harmless := `{"ociVersion":"1.0.2","process":{"terminal":false,"args":["sleep","1"],"cwd":"/"}}`
	tty := `{"ociVersion":"1.0.2","process":{"terminal":true,"args":["sh"],"cwd":"/"}}`
	padded := `{"ociVersion":"1.0.2","process":{"env":["PAD=` + strings.Repeat(`\u003c`, 800000) + `"],"terminal":true,"args":["sh"],"cwd":"/"}}`
	for _, tc := range []struct {
		name                  string
		inBundle, inCwd, flag string
	}{
		{"relative --config", harmless, tty, "rel.json"},
		{"padded past 4 MiB", padded, "", ""},
		// crun's parser reads comments; Go's decoder does not. What the
		// wrapper cannot read is decided as the worst.
		{"a comment crun reads", `{"ociVersion":"1.0.2","process":{/* read by crun */"terminal":true,"args":["sh"],"cwd":"/"}}`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bundle, cwd := filepath.Join(e.dir, tc.name, "bundle"), filepath.Join(e.dir, tc.name, "cwd")
			for _, d := range []string{bundle, cwd} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			name := tc.flag
			if name == "" {
				name = "config.json"
			}
			os.WriteFile(filepath.Join(bundle, name), []byte(tc.inBundle), 0o600)
			if tc.inCwd != "" {
				os.WriteFile(filepath.Join(cwd, name), []byte(tc.inCwd), 0o600)
			}
			args := []string{"--root", filepath.Join(e.dir, "root"), "create", "--bundle", bundle}
			if tc.flag != "" {
				args = append(args, "--config", tc.flag)
			}
			cmd := exec.Command(e.wrapper, append(args, "c-"+strings.ReplaceAll(tc.name, " ", "-"))...)
			cmd.Dir = cwd
			r := e.runCmd(cmd)
			if r.code == 0 || e.probed() != nil {
				t.Fatalf("create ran (exit %d): want it refused as an interactive container", r.code)
			}
			if !strings.Contains(r.stderr, "execguard: interactive container") {
				t.Errorf("stderr %q, want the refusal", r.stderr)
			}
		})
	}
}
