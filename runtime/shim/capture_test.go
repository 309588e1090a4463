package shim

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect"
)

// TestNewCapture sets captures up against real FIFOs: the exec's stdout
// becomes the shim's FIFO, the cast is root's alone, and a capture that
// never ran leaves nothing behind.
func TestNewCapture(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "x1-stdout")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// containerd's client holds the FIFO's read end.
	client, err := openFIFO(fifo, unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	regular := filepath.Join(dir, "file")
	os.WriteFile(regular, nil, 0o600)
	cfg := config.Default()
	cfg.EventLog, cfg.StateDir = filepath.Join(dir, "log", "events.ndjson"), filepath.Join(dir, "state")
	rec := detect.Record{
		Facts: detect.Facts{Operation: detect.OpExec, ExecID: "x1", Process: detect.Process{Known: true, Terminal: true, Args: []string{"sh"}},
			Container: detect.Container{ID: "c1"}},
		Decision: detect.Decision{Interactive: true, Record: true},
		Time:     time.Unix(1700000000, 0),
	}
	logf := func(string, string, ...any) {}
	tests := []struct {
		name, stdout, wantErr string
	}{
		{"FIFO", fifo, ""},
		{"FIFO URI", "fifo://" + fifo, ""},
		{"logging binary", "binary:///usr/bin/logger", "no FIFO"},
		{"no stdout", "", "no stdout"},
		{"regular file", regular, "no FIFO"},
		{"missing", filepath.Join(dir, "gone"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &taskAPI.ExecProcessRequest{ID: "c1", ExecID: "x1", Terminal: true, Stdout: tt.stdout}
			work := t.TempDir()
			c, err := newCapture(r, rec, cfg, work, detect.Caller{}, logf)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || c != nil {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if r.Stdout != tt.stdout {
					t.Errorf("stdout changed to %q on a failed setup", r.Stdout)
				}
				if left, _ := filepath.Glob(filepath.Join(work, "*")); len(left) != 0 {
					t.Errorf("left behind: %v", left)
				}
				if casts, _ := filepath.Glob(filepath.Join(dir, "log", "tty", "*")); len(casts) != 0 {
					t.Errorf("casts left behind: %v", casts)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Stdout != c.fifo || !strings.HasPrefix(c.fifo, work+"/") {
				t.Errorf("stdout %q, want the shim's FIFO under %s", r.Stdout, work)
			}
			for path, want := range map[string]os.FileMode{filepath.Dir(c.cast): 0o700 | os.ModeDir, c.cast: 0o600, c.fifo: 0o600 | os.ModeNamedPipe} {
				if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
					t.Errorf("%s: %v %v, want %v", path, fi.Mode(), err, want)
				}
			}
			c.abort()
			c.wait()
			if _, err := os.Stat(c.cast); !os.IsNotExist(err) {
				t.Errorf("cast of a capture that never ran is still there: %v", err)
			}
			if left, _ := filepath.Glob(filepath.Join(work, "*")); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// TestTTYOf reads the terminal of a process started on a new pty.
func TestTTYOf(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave := "/dev/pts/" + strconv.Itoa(n)
	f, err := os.OpenFile(slave, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	got, ok := ttyOf(uint32(cmd.Process.Pid))
	if !ok || got.Major != unix.Major(st.Rdev) || got.Minor != unix.Minor(st.Rdev) {
		t.Errorf("ttyOf = %+v %v, want %d:%d (%s)", got, ok, unix.Major(st.Rdev), unix.Minor(st.Rdev), slave)
	}
}
