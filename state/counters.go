package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Counter names: events the configured log could not take that went to the
// spool, spooled events later appended to the log, and events neither could
// take.
const (
	CounterSpooled  = "spooled"
	CounterReplayed = "replayed"
	CounterLost     = "lost"
)

const countersDir = "counters"

// Counters are the event-accounting counters of a state directory. Every
// decision call writes exactly one record, so execs attempted = records in
// the log + Spooled - Replayed (still in the spool) + Lost.
type Counters struct {
	Spooled, Replayed, Lost int64
}

// Count adds one to counter name under dir. A counter is a file that grows
// by one byte per count: O_APPEND makes concurrent counts from separate
// processes add up without a lock, and its size is its value.
func Count(dir, name string) error {
	path := filepath.Join(dir, countersDir, name)
	err := appendByte(path)
	if errors.Is(err, fs.ErrNotExist) {
		if mkErr := os.MkdirAll(filepath.Dir(path), 0o700); mkErr != nil {
			return fmt.Errorf("counter %s: %w", path, mkErr)
		}
		err = appendByte(path)
	}
	if err != nil {
		return fmt.Errorf("counter %s: %w", path, err)
	}
	return nil
}

func appendByte(path string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte{'.'}); err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

// ReadCounters reads the counters under dir; a counter never counted is 0.
func ReadCounters(dir string) (Counters, error) {
	var c Counters
	for _, v := range []struct {
		name string
		dst  *int64
	}{{CounterSpooled, &c.Spooled}, {CounterReplayed, &c.Replayed}, {CounterLost, &c.Lost}} {
		fi, err := os.Lstat(filepath.Join(dir, countersDir, v.name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return c, fmt.Errorf("counter %s: %w", v.name, err)
		}
		*v.dst = fi.Size()
	}
	return c, nil
}
