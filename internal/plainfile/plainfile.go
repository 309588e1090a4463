// Package plainfile opens files for reading without Go's poller. os.Open
// registers every file with the poller, which on its first use creates an
// epoll instance and an event descriptor and on every open tries (and, for
// regular files and /proc, fails) to add the file to it. For a process that
// lives a millisecond, as the runtime wrapper does, that is a measurable
// share of its life; reads of these files never wait anyway.
package plainfile

import (
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// Open opens path read-only as a blocking file. Errors are *fs.PathError,
// as os.Open's, so errors.Is(err, fs.ErrNotExist) holds for a missing file.
func Open(path string) (*os.File, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}

// ReadFile reads the whole file at path, as os.ReadFile does.
func ReadFile(path string) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Files of /proc report size 0: read until EOF, starting small.
	return io.ReadAll(f)
}
