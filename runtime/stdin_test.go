package runtime

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/detect"
)

// openPTY opens a new pseudo-terminal and returns its slave side.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	slave, err := os.OpenFile("/dev/pts/"+itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	t.Cleanup(func() { slave.Close() })
	return slave
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// stdinKinds are the things fd 0 of a runtime call can be, each opened for
// real.
func stdinKinds(t *testing.T) []struct {
	name   string
	open   func() *os.File // nil: fd 0 closed
	stdin  detect.Stdin
	source string
} {
	t.Helper()
	mustOpen := func(path string, flag int) func() *os.File {
		return func() *os.File {
			f, err := os.OpenFile(path, flag, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		}
	}
	file := filepath.Join(t.TempDir(), "commands")
	if err := os.WriteFile(file, []byte("id\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []struct {
		name   string
		open   func() *os.File
		stdin  detect.Stdin
		source string
	}{
		{"/dev/null", mustOpen(os.DevNull, os.O_RDONLY), detect.StdinNone, SourceNull},
		{"closed", nil, detect.StdinNone, SourceClosed},
		{"pipe", func() *os.File {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close(); w.Close() })
			return r
		}, detect.StdinAttached, SourcePipe},
		{"socket", func() *os.File {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
			t.Cleanup(func() { a.Close(); b.Close() })
			return a
		}, detect.StdinAttached, SourceSocket},
		{"regular file", mustOpen(file, os.O_RDONLY), detect.StdinAttached, SourceFile},
		{"pty", func() *os.File { return openPTY(t) }, detect.StdinAttached, SourceTTY},
		{"/dev/zero", mustOpen("/dev/zero", os.O_RDONLY), detect.StdinAttached, SourceCharDev},
		{"directory", mustOpen(t.TempDir(), os.O_RDONLY), detect.StdinNone, SourceDirectory},
	}
}

// TestClassifyStdin: one fstat of each kind of descriptor, classified.
func TestClassifyStdin(t *testing.T) {
	if unix.Mkdev(1, 3) != nullDev {
		t.Fatalf("nullDev = %#x, want unix.Mkdev(1, 3) = %#x", nullDev, unix.Mkdev(1, 3))
	}
	for _, k := range stdinKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			fd := -1
			if k.open != nil {
				fd = int(k.open().Fd())
			} else {
				// A descriptor number that was open and is closed now.
				f, err := os.Open(os.DevNull)
				if err != nil {
					t.Fatal(err)
				}
				fd = int(f.Fd())
				f.Close()
			}
			var st unix.Stat_t
			err := unix.Fstat(fd, &st)
			stdin, source := classifyStdin(&st, err)
			if stdin != k.stdin || source != k.source {
				t.Errorf("classified %s, %s; want %s, %s", stdin, source, k.stdin, k.source)
			}
		})
	}
	if stdin, source := classifyStdin(&unix.Stat_t{}, unix.EIO); stdin != detect.StdinUnknown || source != SourceError {
		t.Errorf("fstat error classified %q, %q", stdin, source)
	}
}

// TestStdinFacts: a terminal process makes stdin a terminal whatever fd 0
// is; the source still says what fd 0 is.
func TestStdinFacts(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		known    bool
		fd0      detect.Stdin
		want     detect.Stdin
	}{
		{"tty exec, /dev/null and a console socket", true, true, detect.StdinNone, detect.StdinTerminal},
		{"tty exec on CRI-O's pty", true, true, detect.StdinAttached, detect.StdinTerminal},
		{"exec -i", false, true, detect.StdinAttached, detect.StdinAttached},
		{"plain exec", false, true, detect.StdinNone, detect.StdinNone},
		{"process unknown", true, false, detect.StdinAttached, detect.StdinAttached},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := detect.Facts{Operation: detect.OpExec, Process: detect.Process{Known: tt.known, Terminal: tt.terminal}}
			stdinFacts(&f, func() (detect.Stdin, string) { return tt.fd0, "fd0" })
			if f.Stdin != tt.want || f.StdinSource != "fd0" {
				t.Errorf("stdin %q source %q, want %q fd0", f.Stdin, f.StdinSource, tt.want)
			}
		})
	}
}

// TestStdinFixtures: for every runtime call whose fd 0 is known (captured,
// measured or read in the caller's source), the wrapper's reading of such a
// descriptor gives the recorded stdin.
func TestStdinFixtures(t *testing.T) {
	n := 0
	for _, fx := range loadFixtures(t) {
		var want struct {
			Stdin       string `json:"stdin"`
			StdinSource string `json:"stdin_source"`
			Interactive bool   `json:"interactive"`
		}
		var caller struct {
			Stdin string `json:"stdin"`
		}
		mustReadJSON(t, filepath.Join(fx.dir, "expect.json"), &want)
		if want.Stdin == "" {
			continue
		}
		n++
		t.Run(fx.name, func(t *testing.T) {
			mustReadJSON(t, filepath.Join(fx.dir, "caller.json"), &caller)
			var fd0 *os.File
			switch {
			case caller.Stdin == os.DevNull:
				f, err := os.Open(os.DevNull)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				fd0 = f
			case strings.HasPrefix(caller.Stdin, "pipe:"):
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				defer r.Close()
				fd0 = r
			case strings.HasPrefix(caller.Stdin, "/dev/pts/"):
				fd0 = openPTY(t)
			default:
				t.Fatalf("caller.json stdin %q: no such descriptor kind in this test", caller.Stdin)
			}
			f := detect.Facts{Operation: detect.OpExec, Process: detect.Process{Known: true, Terminal: want.Interactive}}
			stdinFacts(&f, func() (detect.Stdin, string) {
				var st unix.Stat_t
				err := unix.Fstat(int(fd0.Fd()), &st)
				return classifyStdin(&st, err)
			})
			if string(f.Stdin) != want.Stdin || f.StdinSource != want.StdinSource {
				t.Errorf("stdin %s (%s), want %s (%s)", f.Stdin, f.StdinSource, want.Stdin, want.StdinSource)
			}
		})
	}
	if n < 15 {
		t.Errorf("only %d fixtures state their stdin", n)
	}
}

// TestWrapperRecordsStdin runs the wrapper with each kind of fd 0 on an
// exec of sh without a terminal: the event says what stdin was, and an
// attached one raises the attached-stdin shell alert; nothing else of fd 0
// changes for the runtime.
func TestWrapperRecordsStdin(t *testing.T) {
	shProcess := `{"user":{"uid":0,"gid":0},"args":["sh"],"env":["PATH=/bin"],"cwd":"/"}`
	for _, k := range stdinKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			e := newEnv(t)
			args, _, _ := e.containerdExec(shProcess)
			var cmd *exec.Cmd
			if k.open == nil {
				// fd 0 closed: a shell closes it and execs the wrapper.
				cmd = exec.Command("/bin/sh", "-c", `exec 0<&- "$0" "$@"`)
				cmd.Args = append(cmd.Args, append([]string{e.wrapper}, args...)...)
			} else {
				cmd = exec.Command(e.wrapper, args...)
				cmd.Stdin = k.open()
			}
			r := e.runCmd(cmd)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			p := e.probed()
			if p == nil {
				t.Fatal("the real runtime did not run")
			}
			docs := e.eventDocs()
			if len(docs) == 0 {
				t.Fatal("no event")
			}
			ev := docs[0]
			wantSource := k.source
			if k.open == nil {
				// Go's runtime opens /dev/null on a closed fd 0 before main,
				// so the wrapper, and the runtime after it, see /dev/null.
				wantSource = SourceNull
			}
			if got := get(ev, "execguard.stdin"); got != string(k.stdin) {
				t.Errorf("execguard.stdin = %v, want %s", got, k.stdin)
			}
			if got := get(ev, "execguard.stdin_source"); got != wantSource {
				t.Errorf("execguard.stdin_source = %v, want %s", got, wantSource)
			}
			if get(ev, "process.interactive") != false {
				t.Errorf("process.interactive = %v, want false", get(ev, "process.interactive"))
			}
			shell := k.stdin == detect.StdinAttached
			wantDocs := 1
			if shell {
				wantDocs = 2
			}
			if len(docs) != wantDocs {
				t.Fatalf("%d documents, want %d", len(docs), wantDocs)
			}
			if shell && get(docs[1], "rule.id") != detect.StdinShellRuleID {
				t.Errorf("alert rule.id = %v, want %s", get(docs[1], "rule.id"), detect.StdinShellRuleID)
			}
			fd0 := ""
			for _, fd := range p["fd"] {
				if strings.HasPrefix(fd, "0 ") {
					fd0 = fd
				}
			}
			if fd0 == "" {
				t.Errorf("fd 0 of the runtime is not open")
			}
		})
	}
}

// TestWrapperBlocksStdinShell: under the block shorthand an attached-stdin
// shell is refused, with the reason; kubectl cp's tar is not.
func TestWrapperBlocksStdinShell(t *testing.T) {
	tests := []struct {
		name    string
		process string
		refused bool
	}{
		{"sh", `{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"}`, true},
		{"busybox sh -s", `{"user":{"uid":0,"gid":0},"args":["/bin/busybox","sh","-s"],"cwd":"/"}`, true},
		{"tar xf -", `{"user":{"uid":0,"gid":0},"args":["tar","xf","-","-C","/tmp"],"cwd":"/"}`, false},
		{"sh -c", `{"user":{"uid":0,"gid":0},"args":["sh","-c","id"],"cwd":"/"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.config("block", "open", e.probe)
			args, _, _ := e.containerdExec(tt.process)
			cmd := exec.Command(e.wrapper, args...)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close()
			cmd.Stdin = r
			res := e.runCmd(cmd)
			if tt.refused {
				want := `execguard: shell with attached stdin in container "shell" of pod default/feaspod blocked by policy`
				if res.code == 0 || !strings.Contains(res.stderr, want) {
					t.Errorf("exit %d, stderr %q; want a refusal saying %q", res.code, res.stderr, want)
				}
				if e.probed() != nil {
					t.Errorf("the real runtime ran")
				}
				return
			}
			if res.code != 0 || e.probed() == nil {
				t.Errorf("exit %d, stderr %q: refused", res.code, res.stderr)
			}
		})
	}
}

// TestStdinFstatOnlyWhenDeciding: the wrapper looks at fd 0 (one fstat) on
// an exec, and not at all on a call that passes through. Traced with strace,
// up to the exec of the real runtime.
func TestStdinFstatOnlyWhenDeciding(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed")
	}
	shProcess := `{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"}`
	for _, tc := range []struct {
		name  string
		exec  bool
		fstat int
	}{
		{"exec", true, 1},
		{"state passes through", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			args := []string{"state", "22858e7c2c55d6b8fa2db42b"}
			if tc.exec {
				args, _, _ = e.containerdExec(shProcess)
			}
			trace := filepath.Join(e.dir, "trace")
			// -f: Go may exec the runtime from any of its threads.
			cmd := exec.Command(strace, append([]string{"-f", "-o", trace, "-e", "trace=fstat,newfstatat,statx,execve", e.wrapper}, args...)...)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close()
			cmd.Stdin = r
			if res := e.runCmd(cmd); res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			data, err := os.ReadFile(trace)
			if err != nil {
				t.Fatal(err)
			}
			execs, fstats := 0, 0
			for _, line := range strings.Split(string(data), "\n") {
				// With -f, each line starts with the thread's id.
				if pid, rest, ok := strings.Cut(line, " "); ok && pid != "" && strings.Trim(pid, "0123456789") == "" {
					line = strings.TrimLeft(rest, " ")
				}
				if strings.HasPrefix(line, "execve(") {
					if execs++; execs == 2 {
						break // the real runtime from here on
					}
				}
				if strings.HasPrefix(line, "fstat(0,") || strings.HasPrefix(line, `newfstatat(0, "",`) || strings.HasPrefix(line, `statx(0, "",`) {
					fstats++
				}
			}
			if execs != 2 {
				t.Fatalf("the trace shows %d execs, want the wrapper's and the runtime's:\n%s", execs, data)
			}
			if fstats != tc.fstat {
				t.Errorf("%d stats of fd 0 before the runtime ran, want %d:\n%s", fstats, tc.fstat, data)
			}
		})
	}
}

func BenchmarkReadStdin(b *testing.B) {
	for i := 0; i < b.N; i++ {
		readStdin()
	}
}
