package eventlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Writers in other processes run this test binary with EVENTLOG_WRITER set.
func TestMain(m *testing.M) {
	if spec := os.Getenv("EVENTLOG_REPLAYER"); spec != "" {
		log, stateDir, _ := strings.Cut(spec, "|")
		if _, err := (Log{Path: log, StateDir: stateDir}).Replay(0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if spec := os.Getenv("EVENTLOG_WRITER"); spec != "" {
		path, id, _ := strings.Cut(spec, "|")
		n, _ := strconv.Atoi(id)
		// A large two-line record, like an event and its alert.
		pad := strings.Repeat("p", 64<<10)
		buf := fmt.Appendf(nil, "{\"w\":%d,\"pad\":%q}\n{\"w\":%d,\"alert\":true}\n", n, pad, n)
		if err := Append(path, buf); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestConcurrentProcesses: many processes appending at once leave whole
// lines, each record's two lines together.
func TestConcurrentProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "events.ndjson")
	const writers = 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("EVENTLOG_WRITER=%s|%d", path, i))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("writer %d: %v: %s", i, err, out)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	seen := map[int]bool{}
	var prev struct {
		W     int  `json:"w"`
		Alert bool `json:"alert"`
	}
	lines := 0
	for sc.Scan() {
		var cur struct {
			W     int  `json:"w"`
			Alert bool `json:"alert"`
		}
		if err := json.Unmarshal(sc.Bytes(), &cur); err != nil {
			t.Fatalf("line %d torn: %v", lines+1, err)
		}
		if lines%2 == 1 && (!cur.Alert || cur.W != prev.W) {
			t.Fatalf("line %d: record of writer %d split by writer %d", lines+1, prev.W, cur.W)
		}
		if lines%2 == 0 {
			seen[cur.W] = true
		}
		prev = cur
		lines++
	}
	if lines != 2*writers || len(seen) != writers {
		t.Fatalf("%d lines from %d writers, want %d from %d", lines, len(seen), 2*writers, writers)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
}

func TestAppendErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A path under a regular file can never be created.
	err := Append(filepath.Join(file, "events.ndjson"), []byte("{}\n"))
	if err == nil || !strings.Contains(err.Error(), "event log "+file) {
		t.Errorf("err = %v, want it to name the log", err)
	}
	if err := Append(filepath.Join(dir, "ok.ndjson"), []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "ok.ndjson")); !bytes.Equal(data, []byte("{}\n")) {
		t.Errorf("content %q", data)
	}
}

// A writer stuck holding the writers' lock makes a bounded write give up
// and the record go to the spool; nothing waits for long.
func TestWriteLockWaitSpools(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l := Log{Path: path, StateDir: filepath.Join(dir, "state"), LockWait: 20 * time.Millisecond}
	if err := os.MkdirAll(l.StateDir, 0o750); err != nil {
		t.Fatal(err)
	}
	holder, err := os.OpenFile(filepath.Join(l.StateDir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if err := unix.Flock(int(holder.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	out, err := l.Write([]byte("{\"a\":1}\n"))
	if out != Spooled || !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("Write with the lock held: %v, %v; want spooled, %v", out, err, ErrLockTimeout)
	}
	if n, _ := Pending(l.StateDir); n != 1 {
		t.Fatalf("%d records spooled, want 1", n)
	}
	unix.Flock(int(holder.Fd()), unix.LOCK_UN)
	if out, err := l.Write([]byte("{\"b\":2}\n")); out != Written || err != nil {
		t.Fatalf("Write with the lock free: %v, %v", out, err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "{\"b\":2}\n{\"a\":1}\n" {
		t.Fatalf("log holds %q, want the new record and the replayed one", data)
	}
}

// The attack of a log reader (a log shipper's group, a pod mounting the
// host's /var/log): a shared lock on the log once froze every exec and
// container start. Writers no longer lock the log: the record is written at
// once. A log owned by another user, or writable by group or others, is
// theirs to cut and forge: refused, the record spooled.
func TestLogReaderCannotHoldWriters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	reader, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if err := unix.Flock(int(reader.Fd()), unix.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	l := Log{Path: path, StateDir: filepath.Join(dir, "state")}
	done := make(chan Outcome, 1)
	go func() {
		out, _ := l.Write([]byte("{\"a\":1}\n"))
		done <- out
	}()
	select {
	case out := <-done:
		if out != Written {
			t.Fatalf("Write beside a reader's lock: %v, want written", out)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a reader's shared lock on the log held the writer back")
	}

	for _, tc := range []struct {
		name  string
		setup func(string) error
		want  string
	}{
		{"group writable", func(p string) error { return os.Chmod(p, 0o660) }, "writable by group or others"},
		{"owned by nobody", func(p string) error { return os.Chown(p, 65534, 65534) }, "owned by uid 65534"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "owned by nobody" && os.Geteuid() != 0 {
				t.Skip("needs root to give the file away")
			}
			d := t.TempDir()
			p := filepath.Join(d, "events.ndjson")
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := tc.setup(p); err != nil {
				t.Fatal(err)
			}
			l := Log{Path: p, StateDir: filepath.Join(d, "state")}
			out, err := l.Write([]byte("{\"a\":1}\n"))
			if out != Spooled || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write = %v, %v; want spooled: %s", out, err, tc.want)
			}
			if data, _ := os.ReadFile(p); len(data) != 0 {
				t.Errorf("the refused log got %q", data)
			}
		})
	}
}

// A state directory that cannot hold the writers' lock (replaced by a file)
// does not cost the record: it is written under the log's own lock.
func TestWriteWithoutStateDir(t *testing.T) {
	dir := t.TempDir()
	l := Log{Path: filepath.Join(dir, "events.ndjson"), StateDir: filepath.Join(dir, "state")}
	if err := os.WriteFile(l.StateDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := l.Write([]byte("{\"a\":1}\n")); out != Written || err != nil {
		t.Fatalf("Write = %v, %v; want written", out, err)
	}
}

// TestWriteWarnsUnsafeDir: a record written into a directory someone else
// owns or may write is in the log, and the writer is told why that
// directory is unsafe.
func TestWriteWarnsUnsafeDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a directory to another user")
	}
	tests := []struct {
		name string
		mode uint32
		uid  int
		want string // "": no warning
	}{
		{"root's 0750", 0o750, 0, ""},
		{"root's 0755", 0o755, 0, ""},
		{"group-writable", 0o770, 0, "writable by group or others (mode 0770)"},
		{"others-writable", 0o757, 0, "writable by group or others (mode 0757)"},
		{"world-writable sticky", 0o1777, 0, "writable by group or others (mode 1777)"},
		{"another user's", 0o700, 65534, "owned by uid 65534, not root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "logs")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := unix.Chmod(dir, tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, tt.uid, 0); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "events.ndjson")
			l := Log{Path: path, StateDir: filepath.Join(t.TempDir(), "state")}
			out, err := l.Write([]byte("{\"a\":1}\n"))
			if out != Written {
				t.Fatalf("outcome %v (%v), want written", out, err)
			}
			if b, _ := os.ReadFile(path); string(b) != "{\"a\":1}\n" {
				t.Errorf("log holds %q", b)
			}
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("warning %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("warning %v, want one saying %q", err, tt.want)
			}
			if got := CheckDir(path); (got == nil) != (tt.want == "") {
				t.Errorf("CheckDir = %v", got)
			}
		})
	}
}

func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, mode os.FileMode, uid int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, 0); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(mk("target", 0o600, 0), link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, want string
	}{
		{mk("ok", 0o600, 0), ""},
		{mk("shipper", 0o640, 0), ""},
		{filepath.Join(dir, "missing"), ""},
		{mk("group-writable", 0o660, 0), "writable by group or others (mode 0660)"},
		{mk("nobodys", 0o600, 65534), "owned by uid 65534"},
		{link, "symbolic link"},
		{fifo, "not a regular file"},
	}
	for _, tt := range tests {
		err := CheckFile(tt.path)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckFile(%s) = %v, want %q", filepath.Base(tt.path), err, tt.want)
		}
	}
}
