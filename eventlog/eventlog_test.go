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

// A writer that holds the log's lock makes a bounded write give up and the
// record go to the spool; an unbounded one would wait.
func TestWriteLockWaitSpools(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	holder, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if err := unix.Flock(int(holder.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	l := Log{Path: path, StateDir: filepath.Join(dir, "state"), LockWait: 20 * time.Millisecond}
	out, err := l.Write([]byte("{\"a\":1}\n"))
	if out != Spooled || !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("Write with the log locked: %v, %v; want spooled, %v", out, err, ErrLockTimeout)
	}
	if n, _ := Pending(l.StateDir); n != 1 {
		t.Fatalf("%d records spooled, want 1", n)
	}
	unix.Flock(int(holder.Fd()), unix.LOCK_UN)
	if out, err := l.Write([]byte("{\"b\":2}\n")); out != Written || err != nil {
		t.Fatalf("Write with the log free: %v, %v", out, err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "{\"b\":2}\n{\"a\":1}\n" {
		t.Fatalf("log holds %q, want the new record and the replayed one", data)
	}
}
