package eventlog

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/state"
)

func record(i int) []byte {
	return fmt.Appendf(nil, "{\"n\":%d}\n{\"n\":%d,\"alert\":true}\n", i, i)
}

// readLog returns how many times each record number appears in the log, and
// fails on any line that is not a whole JSON document.
func readLog(t *testing.T, path string) map[int]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[int]int{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var d struct {
			N     int  `json:"n"`
			Alert bool `json:"alert"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("%s line %d is torn: %q: %v", path, line, sc.Text(), err)
		}
		if !d.Alert {
			seen[d.N]++
		}
	}
	return seen
}

func counters(t *testing.T, dir string) state.Counters {
	t.Helper()
	c, err := state.ReadCounters(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSpoolAndReplay: while the log's directory cannot be created, records
// go to the spool; the first write that reaches the log again brings them
// in, and the counters account for every record.
func TestSpoolAndReplay(t *testing.T) {
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	blocker := filepath.Join(dir, "logs")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil { // a file where the directory should be
		t.Fatal(err)
	}
	l := Log{Path: filepath.Join(blocker, "events.ndjson"), StateDir: stateDir}
	for i := 0; i < 5; i++ {
		out, err := l.Write(record(i))
		if out != Spooled || err == nil || !strings.Contains(err.Error(), blocker) {
			t.Fatalf("write %d: %v, %v; want spooled with the log's error", i, out, err)
		}
	}
	if n, err := Pending(stateDir); n != 5 || err != nil {
		t.Fatalf("Pending = %d, %v; want 5", n, err)
	}
	if c := counters(t, stateDir); c != (state.Counters{Spooled: 5}) {
		t.Fatalf("counters %+v", c)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if out, err := l.Write(record(5)); out != Written || err != nil {
		t.Fatalf("write after recovery: %v, %v", out, err)
	}
	seen := readLog(t, l.Path)
	for i := 0; i < 6; i++ {
		if seen[i] != 1 {
			t.Errorf("record %d appears %d times, want once", i, seen[i])
		}
	}
	if c := counters(t, stateDir); c != (state.Counters{Spooled: 5, Replayed: 5}) {
		t.Errorf("counters %+v, want 5 spooled, 5 replayed", c)
	}
	if n, _ := Pending(stateDir); n != 0 {
		t.Errorf("%d records left in the spool", n)
	}
}

// TestLost: when neither the log nor the spool can take a record, it is
// counted lost where the counter can still be written, and the error says
// both why.
func TestLost(t *testing.T) {
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// The spool's place is taken by a file: the spool cannot be made.
	if err := os.WriteFile(filepath.Join(stateDir, SpoolDir), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The system log hears of every loss.
	syslog := filepath.Join(dir, "syslog.sock")
	sfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sfd)
	if err := unix.Bind(sfd, &unix.SockaddrUnix{Name: syslog}); err != nil {
		t.Fatal(err)
	}
	l := Log{Path: filepath.Join(dir, "nolog", "x", "events.ndjson"), StateDir: stateDir, Syslog: syslog}
	if err := os.WriteFile(filepath.Join(dir, "nolog"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := l.Write(record(1))
	if out != Lost || err == nil || !strings.Contains(err.Error(), "spool") {
		t.Fatalf("Write = %v, %v; want lost, naming the spool", out, err)
	}
	msg := make([]byte, 4096)
	n, _, rerr := unix.Recvfrom(sfd, msg, unix.MSG_DONTWAIT)
	if rerr != nil || !strings.HasPrefix(string(msg[:n]), "<11>") || !strings.Contains(string(msg[:n]), "event lost: event log") {
		t.Errorf("system log got %q (%v), want the loss", msg[:max(n, 0)], rerr)
	}
	if c := counters(t, stateDir); c.Lost != 1 {
		t.Errorf("counters %+v, want 1 lost", c)
	}
	// Without a state directory there is no spool: lost, uncounted.
	if out, _ := (Log{Path: l.Path}).Write(record(2)); out != Lost {
		t.Errorf("without a state directory: %v, want lost", out)
	}
}

// TestFullFileSystem: a log on a full file system keeps whole lines only
// (a write cut short is taken back) and the records that did not fit are
// spooled, then replayed once there is room.
func TestFullFileSystem(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	mnt := filepath.Join(dir, "small")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=16k"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	stateDir := filepath.Join(dir, "state")
	l := Log{Path: filepath.Join(mnt, "events.ndjson"), StateDir: stateDir}
	pad := strings.Repeat("x", 700)
	var spooled int
	const n = 60 // about 45 KiB: three times what fits
	for i := 0; i < n; i++ {
		buf := fmt.Appendf(nil, "{\"n\":%d,\"pad\":%q}\n{\"n\":%d,\"alert\":true}\n", i, pad, i)
		out, err := l.Write(buf)
		switch out {
		case Spooled:
			spooled++
			if !strings.Contains(err.Error(), "no space") && !strings.Contains(err.Error(), "short write") {
				t.Errorf("record %d spooled because of %v, want ENOSPC", i, err)
			}
		case Lost:
			t.Fatalf("record %d lost: %v", i, err)
		}
	}
	if spooled == 0 {
		t.Fatal("nothing spooled: the file system never filled")
	}
	readLog(t, l.Path) // whole lines only
	// Make room (as a rotation would) and write once more: all come back.
	if err := os.Rename(l.Path, filepath.Join(mnt, "old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(mnt, "old")); err != nil {
		t.Fatal(err)
	}
	// The emptied file system holds about a third of them at a time: replay
	// until it is full, check, empty it, again.
	for round := 0; ; round++ {
		_, err := l.Replay(0)
		readLog(t, l.Path)
		if p, _ := Pending(stateDir); p == 0 {
			break
		}
		if err == nil || round > 10 {
			t.Fatalf("replay round %d left records without a reason: %v", round, err)
		}
		if err := os.Remove(l.Path); err != nil {
			t.Fatal(err)
		}
	}
	c := counters(t, stateDir)
	if c.Spooled != int64(spooled) || c.Replayed != int64(spooled) || c.Lost != 0 {
		t.Errorf("counters %+v, want %d spooled and replayed", c, spooled)
	}
}

// TestConcurrentReplay: replayers in separate processes draining one spool
// append each record exactly once.
func TestConcurrentReplay(t *testing.T) {
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	log := filepath.Join(dir, "events.ndjson")
	l := Log{Path: log, StateDir: stateDir}
	const records = 200
	for i := 0; i < records; i++ {
		if err := l.spool(record(i)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "EVENTLOG_REPLAYER="+log+"|"+stateDir)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("replayer: %v: %s", err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := readLog(t, log)
	for i := 0; i < records; i++ {
		if seen[i] != 1 {
			t.Errorf("record %d appears %d times", i, seen[i])
		}
	}
	if c := counters(t, stateDir); c.Replayed != records {
		t.Errorf("replayed counter %d, want %d", c.Replayed, records)
	}
}

// TestSpoolRejects: a file in the spool that is not a whole record is set
// aside, never appended.
func TestSpoolRejects(t *testing.T) {
	dir := t.TempDir()
	l := Log{Path: filepath.Join(dir, "events.ndjson"), StateDir: filepath.Join(dir, "state")}
	spool := filepath.Join(l.StateDir, SpoolDir)
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"1-1.ndjson": "{\"n\":1}", "2-1.txt": "{\"n\":2}\n"} {
		if err := os.WriteFile(filepath.Join(spool, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := l.Replay(0); n != 0 || err != nil {
		t.Fatalf("Replay = %d, %v", n, err)
	}
	if _, err := os.Stat(l.Path); !os.IsNotExist(err) {
		t.Errorf("log written from rejected files: %v", err)
	}
	if rejected, _ := filepath.Glob(filepath.Join(l.StateDir, RejectDir, "*")); len(rejected) != 2 {
		t.Errorf("rejected %v, want both files", rejected)
	}
}

// TestHostilePaths: a symbolic link or a FIFO where the log goes is refused
// (the FIFO without blocking); nothing is written through the link.
func TestHostilePaths(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.ndjson")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.ndjson")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{link: "symbolic link", fifo: "not a regular file"} {
		if err := Append(path, record(1)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Append(%s) = %v, want an error saying %q", filepath.Base(path), err, want)
		}
	}
	if data, _ := os.ReadFile(target); len(data) != 0 {
		t.Errorf("written through the link: %q", data)
	}
}

// TestSpoolForged: a record someone other than root put in the spool (a
// writer of the state directory forging events) is set aside, never
// appended to the log; root's own records still are.
func TestSpoolForged(t *testing.T) {
	dir := t.TempDir()
	l := Log{Path: filepath.Join(dir, "events.ndjson"), StateDir: filepath.Join(dir, "state")}
	spool := filepath.Join(l.StateDir, SpoolDir)
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	forged := map[string]os.FileMode{"1-1.ndjson": 0o666, "2-1.ndjson": 0o620}
	for name, mode := range forged {
		p := filepath.Join(spool, name)
		if err := os.WriteFile(p, []byte("{\"forged\":true}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		p := filepath.Join(spool, "3-1.ndjson")
		if err := os.WriteFile(p, []byte("{\"forged\":true}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		forged["3-1.ndjson"] = 0o600
	}
	if err := os.WriteFile(filepath.Join(spool, "4-1.ndjson"), []byte("{\"n\":4}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := l.Replay(0)
	if n != 1 || err == nil || !strings.Contains(err.Error(), "set aside") {
		t.Errorf("Replay = %d, %v; want the one root record and an error naming the others", n, err)
	}
	data, _ := os.ReadFile(l.Path)
	if string(data) != "{\"n\":4}\n" {
		t.Errorf("log %q, want root's record only", data)
	}
	if rejected, _ := filepath.Glob(filepath.Join(l.StateDir, RejectDir, "*")); len(rejected) != len(forged) {
		t.Errorf("set aside %v, want the %d forged records", rejected, len(forged))
	}
}
