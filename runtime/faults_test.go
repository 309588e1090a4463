package runtime

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/execguard/execguard/detect/detecttest"
	"github.com/execguard/execguard/eventlog"
	"github.com/execguard/execguard/state"
)

// TestWrapperEventFaults: where an exec's event goes when the log cannot
// take it, and what the fail mode then does with an interactive exec.
func TestWrapperEventFaults(t *testing.T) {
	tests := []struct {
		name     string
		failMode string
		// breakLog makes the log unwritable; breakState the spool too.
		breakState bool
		wantRan    bool
		want       state.Counters
	}{
		{"spooled, open", "open", false, true, state.Counters{Spooled: 1}},
		{"spooled, closed", "closed", false, true, state.Counters{Spooled: 1}},
		{"lost, open", "open", true, true, state.Counters{}},
		{"lost, closed", "closed", true, false, state.Counters{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.config("alert", tt.failMode, e.probe)
			// A file where the log's directory goes: the log cannot be made.
			if err := os.WriteFile(filepath.Dir(e.events), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			stateDir := filepath.Join(e.dir, "state")
			if tt.breakState {
				if err := os.WriteFile(stateDir, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			args, bundle, _ := e.containerdExec(ttyProcess)
			r := e.run(args...)
			if ran := e.probed() != nil; ran != tt.wantRan {
				t.Fatalf("runtime ran = %v, want %v (exit %d, stderr %q)", ran, tt.wantRan, r.code, r.stderr)
			}
			logged, _ := os.ReadFile(filepath.Join(bundle, "log.json"))
			wantWord := "spooled"
			if tt.breakState {
				wantWord = "event lost"
			}
			if !strings.Contains(string(logged), wantWord) {
				t.Errorf("runtime log %q, want it to say %q", logged, wantWord)
			}
			if tt.breakState {
				return // no state directory: nothing counted, as the log says
			}
			c, err := state.ReadCounters(stateDir)
			if err != nil || c != tt.want {
				t.Errorf("counters %+v (%v), want %+v", c, err, tt.want)
			}
			// The log comes back: the next call appends its own event and
			// the spooled one.
			if err := os.Remove(filepath.Dir(e.events)); err != nil {
				t.Fatal(err)
			}
			e.run(args...)
			if n := len(e.eventDocs()); n != 4 {
				t.Errorf("%d documents in the log after recovery, want 2 events and 2 alerts", n)
			}
			if n, _ := eventlog.Pending(stateDir); n != 0 {
				t.Errorf("%d records still spooled", n)
			}
		})
	}
}

// TestWrapperRuntimeFallback: a configured runtime that is missing gives
// way to a root-owned one of the same name in a system directory; none at
// all fails the call with a message naming both.
func TestWrapperRuntimeFallback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the fallback takes root-owned runtimes only")
	}
	if _, err := os.Stat("/usr/sbin/runc"); err != nil {
		t.Fatalf("runc is required at /usr/sbin/runc: %v", err)
	}
	e := newEnv(t)
	missing := filepath.Join(e.dir, "gone", "runc")
	e.config("alert", "open", missing)
	if r := e.run("--version"); r.code != 0 || !strings.Contains(r.stdout, "runc version") {
		t.Fatalf("pass-through with a missing runtime: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	args, _, _ := e.containerdExec(plainProcess)
	e.run(args...) // real runc fails on the made-up container; the event is what counts
	docs := e.eventDocs()
	if len(docs) == 0 {
		t.Fatal("no event")
	}
	if msg, _ := json.Marshal(docs[0]); !strings.Contains(string(msg), "configured runtime "+missing) {
		t.Errorf("event does not report the fallback: %s", msg)
	}

	// A name no system directory has.
	e2 := newEnv(t)
	e2.config("alert", "open", filepath.Join(e2.dir, "gone", "runc"))
	if err := os.Rename(e2.wrapper, filepath.Join(e2.dir, "execguard-nosuchruntime")); err != nil {
		t.Fatal(err)
	}
	cfg := "state_dir = " + strconv.Quote(filepath.Join(e2.dir, "state")) + "\n[runtimes]\nnosuchruntime = " + `"` + filepath.Join(e2.dir, "gone", "nosuchruntime") + `"` + "\n"
	if err := os.WriteFile(e2.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	e2.wrapper = filepath.Join(e2.dir, "execguard-nosuchruntime")
	r := e2.run("--version")
	// The caller learns that the call failed, without node paths; the
	// diagnostics file says why.
	if r.code != 127 || !strings.Contains(r.stderr, "no nosuchruntime runtime to run") || strings.Contains(r.stderr, e2.dir) {
		t.Errorf("exit %d, stderr %q; want 127, the runtime's name and no path", r.code, r.stderr)
	}
	if d := e2.diags(); !strings.Contains(d, "no nosuchruntime owned by root") {
		t.Errorf("diagnostics %q; want why", d)
	}
}

// TestWrapperUntrustedPolicy: a policy file others could write is refused;
// with no last good policy the fail mode decides.
func TestWrapperUntrustedPolicy(t *testing.T) {
	for _, failMode := range []string{"open", "closed"} {
		t.Run(failMode, func(t *testing.T) {
			e := newEnv(t)
			pol := filepath.Join(e.dir, "policy.yaml")
			if err := os.WriteFile(pol, []byte("process:\n  selectors: [{name: all}]\n  responses: [{match: [all], actions: [log]}]\n"), 0o666); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(pol, 0o666); err != nil {
				t.Fatal(err)
			}
			e.config("alert", failMode, e.probe)
			// Top-level keys go before [runtimes].
			data, _ := os.ReadFile(e.cfg)
			data = []byte("policy = \"" + pol + "\"\n" + string(data))
			if err := os.WriteFile(e.cfg, data, 0o644); err != nil {
				t.Fatal(err)
			}
			args, _, _ := e.containerdExec(ttyProcess)
			e.run(args...)
			ran := e.probed() != nil
			if ran != (failMode == "open") {
				t.Errorf("runtime ran = %v in fail mode %s", ran, failMode)
			}
			docs := e.eventDocs()
			if len(docs) == 0 {
				t.Fatal("no event")
			}
			if msg, _ := get(docs[0], "error.message").(string); !strings.Contains(msg, "writable by group or others") {
				t.Errorf("error.message = %q", msg)
			}
		})
	}
}

// TestNoShellNoPathLookup: on both paths through the wrapper the only
// programs executed are the real runtime, by its absolute path: no shell, no
// PATH search (which would show as execve attempts of other paths).
func TestNoShellNoPathLookup(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed (make setup installs it)")
	}
	const runc = "/usr/sbin/runc"
	if _, err := os.Stat(runc); err != nil {
		t.Fatalf("runc is required at %s: %v", runc, err)
	}
	e := newEnv(t)
	e.config("alert", "open", runc)
	execArgs, _, _ := e.containerdExec(ttyProcess)
	for name, args := range map[string][]string{"pass-through": {"--version"}, "exec": execArgs} {
		t.Run(name, func(t *testing.T) {
			trace := filepath.Join(e.dir, "trace-"+name)
			cmd := exec.Command(strace, append([]string{"-f", "-qq", "-e", "trace=execve", "-o", trace, e.wrapper}, args...)...)
			cmd.Env = append(os.Environ(), "EXECGUARD_CONFIG="+e.cfg, "PATH=/nonexistent:/usr/sbin:/usr/bin")
			cmd.Run() // runc fails on the made-up container; the trace is what counts
			data, err := os.ReadFile(trace)
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, line := range strings.Split(string(data), "\n") {
				if _, rest, ok := strings.Cut(line, `execve("`); ok {
					p, _, _ := strings.Cut(rest, `"`)
					paths = append(paths, p)
				}
			}
			// strace -f may show the one execve of a multithreaded Go
			// program twice (started on one thread, finished on the
			// leader): what counts is that nothing but runc follows.
			ok := len(paths) >= 2 && paths[0] == e.wrapper
			for _, p := range paths[min(1, len(paths)):] {
				ok = ok && p == runc
			}
			if !ok {
				t.Errorf("programs executed: %q, want the wrapper then %s only", paths, runc)
			}
		})
	}
}

// TestHostileArguments: whatever an exec's arguments hold, its record is one
// event line and one alert line of JSON, with nothing a terminal showing the
// log would act on, and bounded in size.
func TestHostileArguments(t *testing.T) {
	big := strings.Repeat("A", 3<<20)
	many := make([]string, 20000)
	for i := range many {
		many[i] = "x"
	}
	tests := map[string][]string{
		"ansi":        {"sh", "-c", "\x1b[2J\x1b[1;1H\x1b]0;owned\x07echo hi\r\nfake line\n{\"event\":1}"},
		"c1 and del":  {"sh", "\u009b2J", "\x7f\x08\x00"},
		"invalid utf": {"sh", "\xff\xfe\xc3"},
		"megabytes":   {"sh", big},
		"many":        append([]string{"sh"}, many...),
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			spec, err := json.Marshal(map[string]any{"terminal": true, "args": args, "cwd": "/", "user": map[string]int{"uid": 0}})
			if err != nil {
				t.Fatal(err)
			}
			if name == "invalid utf" { // raw invalid bytes in the file, as a hostile engine could write
				spec = []byte("{\"terminal\":true,\"cwd\":\"/\",\"args\":[\"sh\",\"\xff\xfe\xc3\"]}")
			}
			execArgs, _, _ := e.containerdExec(string(spec))
			if r := e.run(execArgs...); r.code != 0 || e.probed() == nil {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			data, err := os.ReadFile(e.events)
			if err != nil {
				t.Fatal(err)
			}
			if err := detecttest.CheckRecord(data); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(data), "\n"); n != 2 {
				t.Errorf("%d lines, want the event and its alert", n)
			}
			if len(data) > 4<<20 {
				t.Errorf("record of %d bytes", len(data))
			}
		})
	}
}

// TestWrapperRefusedConfigFailClosed: a refused or invalid configuration
// that declares fail_mode = "closed" refuses interactive execs even when no
// policy file is set; plain execs and fail mode open still run.
func TestWrapperRefusedConfigFailClosed(t *testing.T) {
	tests := []struct {
		name     string
		failMode string
		mode     os.FileMode
		extra    string
		process  string
		wantRan  bool
	}{
		{"group writable, closed, tty", "closed", 0o664, "", ttyProcess, false},
		{"group writable, closed, plain", "closed", 0o664, "", plainProcess, true},
		{"group writable, open, tty", "open", 0o664, "", ttyProcess, true},
		{"invalid key, closed, tty", "closed", 0o644, "bogus = 1\n", ttyProcess, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			real := e.probe
			if tt.mode&0o022 != 0 {
				// A refused file's runtimes do not count: the default, real
				// runc, runs the call.
				real = "/usr/sbin/runc"
			}
			e.config("alert", tt.failMode, real)
			data, _ := os.ReadFile(e.cfg)
			if err := os.WriteFile(e.cfg, append([]byte(tt.extra), data...), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(e.cfg, tt.mode); err != nil {
				t.Fatal(err)
			}
			args, _, _ := e.containerdExec(tt.process)
			var r result
			if tt.mode&0o022 != 0 {
				// The refused file's event_log does not count: the event goes
				// to the default log, which must not be the machine's.
				r = e.runPrivateDefaults(args...)
			} else {
				r = e.run(args...)
			}
			refused := r.code == 1 && strings.Contains(r.stderr, "fail mode is closed")
			if refused == tt.wantRan {
				t.Errorf("refused = %v, want ran = %v (exit %d, stderr %q)", refused, tt.wantRan, r.code, r.stderr)
			}
		})
	}
}

// runPrivateDefaults runs the wrapper in a private mount namespace with
// empty tmpfs mounts over /var/log and /run, where the default event log and
// state directory are, for calls whose configuration is refused and whose
// events therefore go to the defaults (mounting over the parents leaves
// nothing behind on the machine).
func (e *env) runPrivateDefaults(args ...string) result {
	e.t.Helper()
	if os.Geteuid() != 0 {
		e.t.Skip("needs root for a private mount namespace")
	}
	script := `set -e
mount --make-rprivate /
for d in /var/log /run; do mount -t tmpfs -o size=1m tmpfs "$d"; done
exec "$@"`
	return e.runCmd(exec.Command("unshare", append([]string{"--mount", "sh", "-c", script, "sh", e.wrapper}, args...)...))
}

// TestWrapperExecFails: a real runtime that cannot be executed fails the
// call with one line on stderr that names no node path; the diagnostics
// file says which file and why.
func TestWrapperExecFails(t *testing.T) {
	e := newEnv(t)
	if err := os.Chmod(e.probe, 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.run("state", "x")
	if r.code != 127 || !strings.Contains(r.stderr, "the runc runtime could not be run") || strings.Contains(r.stderr, e.dir) {
		t.Errorf("exit %d, stderr %q; want 127 and one line without paths", r.code, r.stderr)
	}
	if d := e.diags(); !strings.Contains(d, "exec "+e.probe+": permission denied") || !strings.Contains(d, "level=error") {
		t.Errorf("diagnostics %q; want the file and why", d)
	}
}
