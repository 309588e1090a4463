// Package eventlog appends event lines to the node's NDJSON event log.
//
// Many runtime calls write at once, from separate processes. Each call opens
// the log with O_APPEND and hands all its lines to a single write(2): the
// kernel then places the whole buffer at the end of the file in one piece,
// so lines are never torn or interleaved. Opening per call also follows a
// rotated log without signals or reopen logic.
//
// The log is opened without following a symbolic link and must be a regular
// file: the wrapper runs as root, and a link or a FIFO planted where the log
// goes must neither redirect its writes nor block it. New logs are created
// readable by root only.
package eventlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultLockWait bounds how long a writer waits for the writers' lock when
// Log.LockWait is 0; a record that would wait longer is spooled.
const DefaultLockWait = 2 * time.Second

// LockFile is the writers' lock under the state directory: only root can
// open it, so a reader of the log (a log shipper's group) cannot hold back
// the writers, as a lock on the log itself would let it.
const LockFile = "eventlog.lock"

// Append writes buf (complete lines) to the log at path in one write(2),
// creating the file and its directory when missing. It locks the log itself
// and waits as long as it takes: for tools; runtime calls write through Log.
func Append(path string, buf []byte) error {
	return AppendWait(path, buf, 0)
}

// AppendWait is Append waiting at most lockWait for the log's lock (0: as
// long as it takes).
func AppendWait(path string, buf []byte, lockWait time.Duration) error {
	return appendLocked(path, "", buf, lockWait)
}

// appendLocked appends under the lock of lockPath ("": the log itself),
// waiting at most lockWait for it (0: no bound).
func appendLocked(path, lockPath string, buf []byte, lockWait time.Duration) error {
	err := appendOnce(path, lockPath, buf, lockWait)
	if errors.Is(err, os.ErrNotExist) {
		if mkErr := os.MkdirAll(filepath.Dir(path), 0o750); mkErr != nil {
			return fmt.Errorf("event log %s: %w", path, mkErr)
		}
		err = appendOnce(path, lockPath, buf, lockWait)
	}
	if err != nil {
		return fmt.Errorf("event log %s: %w", path, err)
	}
	return nil
}

func appendOnce(path, lockPath string, buf []byte, lockWait time.Duration) error {
	// O_NONBLOCK: opening a FIFO for writing would otherwise wait for a
	// reader; regular files ignore it.
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0o600)
	switch err {
	case unix.ELOOP:
		return &os.PathError{Op: "open", Path: path, Err: errors.New("is a symbolic link; the event log must be a regular file")}
	case unix.ENXIO: // a FIFO nobody reads, or a device
		return &os.PathError{Op: "open", Path: path, Err: errors.New("not a regular file")}
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return &os.PathError{Op: "open", Path: path, Err: errors.New("not a regular file")}
	}
	// A log someone else owns or may write is theirs to read, cut and forge.
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("owned by uid %d, not root; refused", st.Uid)}
	}
	if st.Mode&0o022 != 0 {
		return &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("writable by group or others (mode %04o); refused", st.Mode&0o7777)}
	}
	// Writers hold the lock across the write so that one cut short (a full
	// file system) can be taken back before anyone appends after it: the
	// log never keeps half a line.
	lockFD := fd
	if lockPath != "" {
		// A state directory that cannot hold the lock (gone, replaced by a
		// file) must not cost the record: the log itself is locked then.
		if lfd, err := openLock(lockPath); err == nil {
			defer unix.Close(lfd)
			lockFD = lfd
		}
	}
	if err := lockBounded(lockFD, lockWait); err != nil {
		return &os.PathError{Op: "lock", Path: path, Err: err}
	}
	if err := writeWhole(fd, buf); err != nil {
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

// writeWhole appends buf in one write(2). A write cut short is undone, so the
// caller can put the whole record elsewhere.
func writeWhole(fd int, buf []byte) error {
	for {
		n, err := unix.Write(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if n > 0 && n < len(buf) {
			if err == nil {
				err = fmt.Errorf("short write (%d of %d bytes)", n, len(buf))
			}
			var st unix.Stat_t
			if unix.Fstat(fd, &st) == nil {
				if terr := unix.Ftruncate(fd, st.Size-int64(n)); terr != nil {
					return fmt.Errorf("%v; the partial record could not be removed: %v", err, terr)
				}
			}
			return err
		}
		return err
	}
}

// openLock opens (creating) the writers' lock file: a regular file of
// root's, never through a link, never blocking.
func openLock(path string) (int, error) {
	flags := unix.O_RDWR | unix.O_CREAT | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NOFOLLOW | unix.O_NONBLOCK
	fd, err := unix.Open(path, flags, 0o600)
	if err == unix.ENOENT {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return -1, err
		}
		fd, err = unix.Open(path, flags, 0o600)
	}
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || (st.Uid != 0 && int(st.Uid) != os.Geteuid()) || st.Mode&0o022 != 0 {
		unix.Close(fd)
		return -1, errors.New("not a regular file of root's, writable by it alone; refused")
	}
	return fd, nil
}

// CheckDir reports why the directory of the log at path is not safe to
// keep it in: owned by another user than root (or the effective user), or
// writable by group or others (sticky or not: its writers could put their
// own file where the log goes before it is made, or rename it away when it
// is rotated). It is a warning: the writers still write, and say so.
func CheckDir(path string) error {
	dir := filepath.Dir(path)
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return nil // a missing directory is the write's problem, not this one
	}
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("event log directory %s is owned by uid %d, not root: its owner could replace the log; chown it to root", dir, st.Uid)
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("event log directory %s is writable by group or others (mode %04o): someone could replace the log; make it 0750 or stricter", dir, st.Mode&0o7777)
	}
	return nil
}

// CheckFile reports why writers refuse the existing log at path (a link,
// not a regular file, owned by another user than root, writable by group or
// others); nil when it is fine or does not exist yet.
func CheckFile(path string) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return nil
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return fmt.Errorf("event log %s is a symbolic link; writers refuse it and spool", path)
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return fmt.Errorf("event log %s is not a regular file; writers refuse it and spool", path)
	case st.Uid != 0 && int(st.Uid) != os.Geteuid():
		return fmt.Errorf("event log %s is owned by uid %d, not root; writers refuse it and spool", path, st.Uid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("event log %s is writable by group or others (mode %04o); writers refuse it and spool", path, st.Mode&0o7777)
	}
	return nil
}

// ErrLockTimeout: the log's lock was not free within the wait.
var ErrLockTimeout = errors.New("locked by another writer for too long")

// lockBounded takes the exclusive lock on fd, waiting at most wait (0: no
// bound). flock(2) has no timeout: a bounded wait polls.
func lockBounded(fd int, wait time.Duration) error {
	if wait <= 0 {
		return flock(fd, unix.LOCK_EX)
	}
	deadline := time.Now().Add(wait)
	pause := 50 * time.Microsecond
	for {
		err := flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EWOULDBLOCK {
			return err
		}
		if time.Now().After(deadline) {
			return ErrLockTimeout
		}
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
	}
}

func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if err != unix.EINTR {
			return err
		}
	}
}
