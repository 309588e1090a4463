package eventlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/internal/plainfile"
	"github.com/execguard/execguard/state"
)

// SpoolDir is where, under the state directory, records wait that the
// configured log could not take; RejectDir keeps files found in the spool
// that are not whole records (never appended to the log).
const (
	SpoolDir  = "spool"
	RejectDir = "spool.rejected"
)

// maxRecordBytes bounds what replay reads of one spooled record; the
// encoder caps a record far below it.
const maxRecordBytes = 16 << 20

// ReplayBatch is how many spooled records a runtime call replays at most,
// so a long outage costs no single call much; the NRI plugin drains the rest.
const ReplayBatch = 32

// Outcome says where a record went.
type Outcome int

const (
	// Written: the record is in the configured log.
	Written Outcome = iota
	// Spooled: the log could not take it; it waits in the spool and is
	// appended to the log once the log can take it again.
	Spooled
	// Lost: neither the log nor the spool could take it; the lost counter
	// says so (when even that could not be written, the error does).
	Lost
)

func (o Outcome) String() string {
	switch o {
	case Written:
		return "written"
	case Spooled:
		return "spooled"
	default:
		return "lost"
	}
}

// Log is the configured event log and the state directory holding its spool
// and counters. Without a state directory a record the log cannot take is
// lost.
type Log struct {
	Path     string
	StateDir string
	// Syslog is the socket a loss is reported to; "" is diaglog.SyslogSocket.
	Syslog string
	// LockWait bounds the wait for the writers' lock; a record that would
	// wait longer is spooled. 0 is DefaultLockWait.
	LockWait time.Duration
}

// appendRecord appends buf under the writers' lock: the lock file under the
// state directory (root's alone), or the log itself without one.
func (l Log) appendRecord(buf []byte) error {
	wait := l.LockWait
	if wait <= 0 {
		wait = DefaultLockWait
	}
	lock := ""
	if l.StateDir != "" {
		lock = filepath.Join(l.StateDir, LockFile)
	}
	return appendLocked(l.Path, lock, buf, wait)
}

// Write records buf (one record: complete lines). It returns where the
// record went and, unless Written, why the log could not take it. Written
// with an error is a warning: the record is in the log, but the log's
// directory is not safe to keep it in (CheckDir).
func (l Log) Write(buf []byte) (Outcome, error) {
	err := l.appendRecord(buf)
	if err == nil {
		if l.StateDir != "" && l.pending() {
			l.Replay(ReplayBatch) // its failures leave records in the spool
		}
		return Written, CheckDir(l.Path)
	}
	return l.spoolOr(buf, err)
}

// Spool puts buf (one record) straight into the spool, without trying the
// log: for a writer that must not wait for the log (the NRI plugin's queue,
// full or shutting down). why says why it did not try; it is reported with a
// loss.
func (l Log) Spool(buf []byte, why error) (Outcome, error) {
	if why == nil {
		why = errors.New("event log not tried")
	}
	return l.spoolOr(buf, why)
}

// spoolOr spools a record the log did not take for err, counting it
// spooled, or lost when the spool cannot take it either.
func (l Log) spoolOr(buf []byte, err error) (Outcome, error) {
	if l.StateDir == "" {
		l.reportLoss(err)
		return Lost, err
	}
	if spErr := l.spool(buf); spErr != nil {
		err = fmt.Errorf("%v; spool: %v", err, spErr)
		if cErr := state.Count(l.StateDir, state.CounterLost); cErr != nil {
			err = fmt.Errorf("%v; not counted: %v", err, cErr)
		}
		l.reportLoss(err)
		return Lost, err
	}
	if cErr := state.Count(l.StateDir, state.CounterSpooled); cErr != nil {
		err = fmt.Errorf("%v; spooled, not counted: %v", err, cErr)
	}
	return Spooled, err
}

func (l Log) spoolDir() string { return filepath.Join(l.StateDir, SpoolDir) }

// pending reports whether the spool holds anything, at the cost of one
// directory read of one entry.
func (l Log) pending() bool {
	f, err := plainfile.Open(l.spoolDir())
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) > 0
}

// spool keeps buf as one file named after the time, so replay keeps the
// order. It is written under a dot name and renamed into place, so replay
// never reads half a record.
func (l Log) spool(buf []byte) error {
	dir := l.spoolDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	base := fmt.Sprintf("%020d-%d", time.Now().UnixNano(), os.Getpid())
	tmp := filepath.Join(dir, "."+base+".tmp")
	fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return &os.PathError{Op: "create", Path: tmp, Err: err}
	}
	werr := writeWhole(fd, buf)
	cerr := unix.Close(fd)
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, filepath.Join(dir, base+".ndjson"))
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool %s: %w", tmp, werr)
	}
	return nil
}

// Replay appends up to max spooled records (0: all) to the log, oldest
// first, and reports how many it appended. It stops at the first record the
// log cannot take. Concurrent replays (runtime calls, the NRI plugin) each
// take a record under its lock and skip one another's; a replayer that dies
// between appending and removing a record leaves it to be appended again.
func (l Log) Replay(max int) (int, error) {
	dir := l.spoolDir()
	names, err := readNames(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("spool %s: %w", dir, err)
	}
	done := 0
	var forged []error // records set aside: reported, they stop nothing
	for _, name := range names {
		if max > 0 && done >= max {
			break
		}
		if strings.HasPrefix(name, ".") {
			removeStale(filepath.Join(dir, name))
			continue
		}
		if !strings.HasSuffix(name, ".ndjson") {
			l.reject(filepath.Join(dir, name))
			continue
		}
		ok, err := l.replayOne(filepath.Join(dir, name))
		if errors.Is(err, errUntrusted) {
			forged = append(forged, err)
			continue
		}
		if err != nil {
			return done, errors.Join(append(forged, err)...)
		}
		if ok {
			done++
		}
	}
	return done, errors.Join(forged...)
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

// replayOne appends one spooled record and removes it. false, nil: another
// replayer has it or had it.
func (l Log) replayOne(path string) (bool, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err == unix.ENOENT {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("spooled record %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return false, nil // another replayer holds it
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Nlink == 0 {
		return false, nil // replayed and removed while we waited
	}
	// Only what a root writer spooled is replayed: anyone else who could
	// put a file here would otherwise forge events.
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o022 != 0 || (st.Uid != 0 && int(st.Uid) != os.Geteuid()) {
		l.reject(path)
		return false, fmt.Errorf("spooled record %s: %w (uid %d, mode %o); set aside", path, errUntrusted, st.Uid, st.Mode)
	}
	buf, err := io.ReadAll(io.LimitReader(f, maxRecordBytes+1))
	if err != nil {
		return false, fmt.Errorf("spooled record %s: %w", path, err)
	}
	if len(buf) == 0 || len(buf) > maxRecordBytes || buf[len(buf)-1] != '\n' {
		// Not a record this package wrote: keep it aside, never append it.
		l.reject(path)
		return false, nil
	}
	if err := l.appendRecord(buf); err != nil {
		return false, err
	}
	if err := os.Remove(path); err != nil {
		return true, fmt.Errorf("spooled record %s appended but not removed: %w", path, err)
	}
	if err := state.Count(l.StateDir, state.CounterReplayed); err != nil {
		return true, err
	}
	return true, nil
}

// reject moves a file that is not a spooled record out of the spool.
func (l Log) reject(path string) {
	dir := filepath.Join(l.StateDir, RejectDir)
	if os.MkdirAll(dir, 0o700) == nil && os.Rename(path, filepath.Join(dir, filepath.Base(path))) == nil {
		return
	}
	os.Remove(path)
}

// errUntrusted: a spooled record someone other than root could have
// written.
var errUntrusted = errors.New("not a regular file owned by root and writable by it alone")

// removeStale removes a temporary spool file a writer that died left
// behind; a recent one may still be being written.
func removeStale(path string) {
	if fi, err := os.Lstat(path); err == nil && time.Since(fi.ModTime()) > time.Minute {
		os.Remove(path)
	}
}

// Pending counts the records waiting in the spool of stateDir.
func Pending(stateDir string) (int, error) {
	names, err := readNames(filepath.Join(stateDir, SpoolDir))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	n := 0
	for _, name := range names {
		if strings.HasSuffix(name, ".ndjson") && !strings.HasPrefix(name, ".") {
			n++
		}
	}
	return n, err
}
