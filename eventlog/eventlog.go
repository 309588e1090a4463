// Package eventlog appends event lines to the node's NDJSON event log.
//
// Many runtime calls write at once, from separate processes. Each call opens
// the log with O_APPEND and hands all its lines to a single write(2): the
// kernel then places the whole buffer at the end of the file in one piece,
// so lines are never torn or interleaved. Opening per call also follows a
// rotated log without signals or reopen logic.
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
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOCTTY, 0o640)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Write(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "write", Path: path, Err: err}
		}
		if n != len(buf) {
			// Only a full disk or a file size limit cuts a regular-file
			// write short; the partial line is better reported than retried,
			// since a retry could interleave with another writer.
			return fmt.Errorf("short write (%d of %d bytes)", n, len(buf))
		}
		return nil
	}
}
