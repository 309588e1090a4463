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

	"golang.org/x/sys/unix"
)

// Append writes buf (complete lines) to the log at path in one write(2),
// creating the file and its directory when missing.
func Append(path string, buf []byte) error {
	err := appendOnce(path, buf)
	if errors.Is(err, os.ErrNotExist) {
		if mkErr := os.MkdirAll(filepath.Dir(path), 0o750); mkErr != nil {
			return fmt.Errorf("event log %s: %w", path, mkErr)
		}
		err = appendOnce(path, buf)
	}
	if err != nil {
		return fmt.Errorf("event log %s: %w", path, err)
	}
	return nil
}

func appendOnce(path string, buf []byte) error {
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
	// Writers hold the lock across the write so that one cut short (a full
	// file system) can be taken back before anyone appends after it: the
	// log never keeps half a line.
	if err := flock(fd, unix.LOCK_EX); err != nil {
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

func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if err != unix.EINTR {
			return err
		}
	}
}
