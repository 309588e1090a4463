// Package trust opens the files execguard takes orders or facts from: its
// configuration and policy, and everything under its own state directory
// (container records, coverage marks, the compiled policy cache, the
// spool). Such a file must be a regular file, owned by root (or by the user
// execguard runs as) and not writable by group or others; anyone who could
// write it could otherwise change pod identity, install a policy or forge
// events. Files are opened without blocking, so a FIFO in their place cannot
// hang a runtime call.
package trust

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Check reports why the file or directory at path, described by fi, must
// not be trusted: owned by another user than root and the effective user,
// or writable by group or others.
func Check(path string, fi fs.FileInfo) error {
	uid := uint32(0)
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		uid = st.Uid
	}
	return CheckOwner(path, fi.Mode().Perm(), uid)
}

// CheckOwner is Check for a file known by its permission bits and owner
// (from fstat on a descriptor already open).
func CheckOwner(path string, perm fs.FileMode, uid uint32) error {
	if perm&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (mode %04o); refused: make it 0644 or stricter", path, perm)
	}
	if uid != 0 && int(uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not root; refused", path, uid)
	}
	return nil
}

// Follow says whether ReadFile follows a symbolic link at the path itself:
// configuration may be a link (a Kubernetes ConfigMap mount is made of
// them), files under the state directory never are.
type Follow bool

const (
	NoFollow    Follow = false
	FollowLinks Follow = true
)

// ErrTooLarge is wrapped by ReadFile's error for a file over its limit.
var ErrTooLarge = errors.New("too large")

// Open opens path for reading without blocking and returns it with its
// description; it must be a regular file. Check is the caller's. A missing file gives an error for which errors.Is(err,
// fs.ErrNotExist) holds.
func Open(path string, follow Follow) (*os.File, fs.FileInfo, error) {
	flags := unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK
	if follow == NoFollow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Open(path, flags, 0)
	if err != nil {
		if err == unix.ELOOP {
			return nil, nil, fmt.Errorf("%s is a symbolic link; refused", path)
		}
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	// Blocking again, the descriptor stays out of Go's poller (whose set-up
	// costs a short-lived runtime call more than the read); a regular
	// file's reads never wait, and anything else is refused below unread.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, nil, &fs.PathError{Op: "fcntl", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a regular file (%s); refused", path, fi.Mode().Type())
	}
	return f, fi, nil
}

// OpenChecked is Open followed by Check.
func OpenChecked(path string, follow Follow) (*os.File, fs.FileInfo, error) {
	f, fi, err := Open(path, follow)
	if err != nil {
		return nil, nil, err
	}
	if err := Check(path, fi); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// ReadFile reads a trusted file of at most max bytes.
func ReadFile(path string, max int64, follow Follow) ([]byte, error) {
	f, _, err := OpenChecked(path, follow)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes: %w", path, max, ErrTooLarge)
	}
	return data, nil
}
