// Package diaglog keeps the runtime wrapper's diagnostics for calls whose
// engine gave the runtime no log file. Such a call's stderr is often the
// exec's own stream (CRI-O's streaming exec, conmon's execs): warnings
// written there would reach whoever opened the exec and show them node
// paths and execguard's troubles. They go to a root-only file under the
// state directory instead, which `execguard status` shows the end of.
//
// The file is opened like execguard's other files: never through a link,
// never blocking on a FIFO, only when it is a regular file of root's that
// group and others cannot write. It is kept under MaxBytes by renaming it
// to Path+".1" once it grows past that.
package diaglog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/internal/trust"
)

// File is the diagnostics file's name under the state directory.
const File = "runtime.log"

// MaxBytes is the size past which the file is rotated.
const MaxBytes = 1 << 20

// tailBytes bounds what Tail reads from the end of the file.
const tailBytes = 64 << 10

// Path is the diagnostics file of state directory dir.
func Path(dir string) string { return filepath.Join(dir, File) }

// Line is one diagnostic in logrus's text form, as runc writes its --log by
// default: time="..." level=... msg="...".
func Line(now time.Time, level, msg string) []byte {
	return fmt.Appendf(nil, "time=%s level=%s msg=%s\n", strconv.Quote(now.Format(time.RFC3339Nano)), level, strconv.Quote(msg))
}

// Append writes one diagnostic to the file under dir, creating the
// directory (0700) and the file (0600) when missing.
func Append(dir, level, msg string) error {
	if dir == "" {
		return errors.New("diagnostics: no state directory")
	}
	path := Path(dir)
	line := Line(time.Now(), level, msg)
	fd, err := open(path)
	if errors.Is(err, fs.ErrNotExist) {
		if mkErr := os.MkdirAll(dir, 0o700); mkErr != nil {
			return fmt.Errorf("diagnostics %s: %w", path, mkErr)
		}
		fd, err = open(path)
	}
	if err != nil {
		return err
	}
	if fd, err = rotate(path, fd); err != nil {
		return err
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, line); err != nil {
		return fmt.Errorf("diagnostics %s: %w", path, err)
	}
	return nil
}

// open opens path for appending: a regular file of root's (or the
// effective user's), not writable by group or others.
func open(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0o600)
	switch {
	case err == unix.ELOOP:
		return -1, fmt.Errorf("diagnostics %s is a symbolic link; refused", path)
	case err == unix.ENXIO:
		return -1, fmt.Errorf("diagnostics %s is not a regular file; refused", path)
	case err != nil:
		return -1, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if err := trusted(path, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func trusted(path string, st *unix.Stat_t) error {
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("diagnostics %s is not a regular file; refused", path)
	}
	if err := trust.CheckOwner(path, fs.FileMode(st.Mode&0o777), st.Uid); err != nil {
		return fmt.Errorf("diagnostics %w", err)
	}
	return nil
}

// rotate moves a file grown past MaxBytes aside to path.1 and returns a
// descriptor of a fresh one; else fd itself. Two writers rotating at once
// may lose the older half: it is diagnostics, not events.
func rotate(path string, fd int) (int, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Size < MaxBytes {
		return fd, nil
	}
	unix.Close(fd)
	if err := os.Rename(path, path+".1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return -1, fmt.Errorf("diagnostics %s: rotate: %w", path, err)
	}
	return open(path)
}

// Tail returns the last n lines of the diagnostics file under dir, read
// only when it is a regular file of root's that others cannot write. A
// missing file has none.
func Tail(dir string, n int) ([]string, error) {
	f, fi, err := trust.OpenChecked(Path(dir), trust.NoFollow)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	off := max(fi.Size()-tailBytes, 0)
	data, err := io.ReadAll(io.NewSectionReader(f, off, tailBytes))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Path(dir), err)
	}
	if off > 0 { // the first line read may be cut
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil, nil
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}

// SyslogSocket is the node's local syslog socket (journald listens on it).
const SyslogSocket = "/dev/log"

// Syslog sends one diagnostic to the system log at sock ("" is
// SyslogSocket), for when the file cannot take it. Best effort: without a
// listener it is dropped.
func Syslog(sock, level, msg string) {
	if sock == "" {
		sock = SyslogSocket
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if unix.Connect(fd, &unix.SockaddrUnix{Name: sock}) != nil {
		return
	}
	// Facility user (1): <8+severity>.
	sev := map[string]int{"error": 3, "warning": 4}[level]
	if sev == 0 {
		sev = 6
	}
	m := fmt.Sprintf("<%d>%s[%d]: %s", 8+sev, filepath.Base(os.Args[0]), os.Getpid(), msg)
	if len(m) > 2048 {
		m = m[:2048]
	}
	unix.Write(fd, []byte(m))
}
