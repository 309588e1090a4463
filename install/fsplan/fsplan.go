// Package fsplan plans and applies file changes on a host: what each path
// holds now, what it should hold, the exact diff, and the change itself,
// every file written to a temporary name and renamed over the target.
//
// Paths are host paths (as the host's processes see them); a Host maps them
// under its Root, so an installer can work on a host file system mounted
// elsewhere (a container's /host) or on a test's temp dir.
package fsplan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Kind is what a path holds.
type Kind string

const (
	Absent  Kind = "absent"
	File    Kind = "file"
	Symlink Kind = "symlink"
)

// State is the content of one path: nothing, a regular file, or a symlink.
type State struct {
	Kind   Kind
	Data   []byte      // File
	Mode   fs.FileMode // File permission bits
	Target string      // Symlink
}

// Equal compares content; a file's mode counts.
func (s State) Equal(o State) bool {
	if s.Kind != o.Kind {
		return false
	}
	switch s.Kind {
	case File:
		return s.Mode.Perm() == o.Mode.Perm() && bytes.Equal(s.Data, o.Data)
	case Symlink:
		return s.Target == o.Target
	}
	return true
}

// Sum is the sha256 of a file's content, the target of a symlink, or "".
func (s State) Sum() string {
	switch s.Kind {
	case File:
		h := sha256.Sum256(s.Data)
		return hex.EncodeToString(h[:])
	case Symlink:
		h := sha256.Sum256([]byte(s.Target))
		return hex.EncodeToString(h[:])
	}
	return ""
}

// String describes a state in a few words.
func (s State) String() string {
	switch s.Kind {
	case File:
		return fmt.Sprintf("file (%d bytes, mode %04o)", len(s.Data), s.Mode.Perm())
	case Symlink:
		return "symlink to " + s.Target
	}
	return "absent"
}

// Host maps host paths to the paths this process opens.
type Host struct {
	// Root is where the host's / is mounted; "" and "/" mean this machine.
	Root string
}

// Local is the path this process uses for the host path p.
func (h Host) Local(p string) string {
	if h.Root == "" || h.Root == "/" {
		return filepath.Clean(p)
	}
	return filepath.Join(h.Root, p)
}

// Read returns what the host path holds. A directory or any other kind of
// file is an error: nothing here replaces those.
func (h Host) Read(p string) (State, error) {
	local := h.Local(p)
	st, err := os.Lstat(local)
	if errors.Is(err, fs.ErrNotExist) {
		return State{Kind: Absent}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("%s: %w", p, err)
	}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(local)
		if err != nil {
			return State{}, fmt.Errorf("%s: %w", p, err)
		}
		return State{Kind: Symlink, Target: t}, nil
	case st.Mode().IsRegular():
		data, err := os.ReadFile(local)
		if err != nil {
			return State{}, fmt.Errorf("%s: %w", p, err)
		}
		return State{Kind: File, Data: data, Mode: st.Mode().Perm()}, nil
	}
	return State{}, fmt.Errorf("%s: is a %s, not a regular file or symlink", p, st.Mode().Type())
}

// ReadFollowing reads the file at the host path, following symlinks the way
// the host would (Resolve); ok is false when it does not exist.
func (h Host) ReadFollowing(p string) (data []byte, ok bool, err error) {
	real, err := h.Resolve(p)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", p, err)
	}
	data, err = os.ReadFile(h.Local(real))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", p, err)
	}
	return data, true, nil
}

// Exists reports whether the host path exists (following symlinks the way
// the host would: a symlink under Root is resolved by the caller's kernel,
// which is only right when Root is "/", so absolute targets are mapped).
func (h Host) Exists(p string) bool {
	_, err := h.Stat(p)
	return err == nil
}

// Stat is os.Stat on the host path, resolving absolute symlink targets
// under Root.
func (h Host) Stat(p string) (fs.FileInfo, error) {
	r, err := h.Resolve(p)
	if err != nil {
		return nil, err
	}
	return os.Stat(h.Local(r))
}

// Resolve follows symlinks the way the host would and returns the host
// path of the final target (which need not exist). Needed when Root is not
// "/": the local kernel would resolve an absolute target outside Root.
func (h Host) Resolve(p string) (string, error) {
	p = filepath.Clean(p)
	for range 40 {
		st, err := os.Lstat(h.Local(p))
		if errors.Is(err, fs.ErrNotExist) {
			// Resolve the parent so that a link in a directory path counts.
			dir := filepath.Dir(p)
			if dir == p {
				return p, nil
			}
			rdir, derr := h.Resolve(dir)
			if derr != nil {
				return "", derr
			}
			return filepath.Join(rdir, filepath.Base(p)), nil
		}
		if err != nil {
			return "", err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		t, err := os.Readlink(h.Local(p))
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(p), t)
		}
		p = filepath.Clean(t)
	}
	return "", &fs.PathError{Op: "resolve", Path: p, Err: errors.New("too many levels of symbolic links")}
}

// Change is one path's wanted state and why.
type Change struct {
	Path string // host path, absolute
	Want State
	Why  string
}

// Step is a change that does something: the path holds Have, not Want.
type Step struct {
	Change
	Have State
}

// Plan is the steps that make the host match a list of changes.
type Plan struct {
	Steps []Step
}

// Empty reports whether the host already matches.
func (p Plan) Empty() bool { return len(p.Steps) == 0 }

// Plan reads every path and keeps the changes that differ from the host.
func (h Host) Plan(changes []Change) (Plan, error) {
	var p Plan
	seen := map[string]bool{}
	for _, c := range changes {
		if !filepath.IsAbs(c.Path) {
			return Plan{}, fmt.Errorf("%s: not an absolute path", c.Path)
		}
		c.Path = filepath.Clean(c.Path)
		if seen[c.Path] {
			return Plan{}, fmt.Errorf("%s: changed twice in one plan", c.Path)
		}
		seen[c.Path] = true
		have, err := h.Read(c.Path)
		if err != nil {
			return Plan{}, err
		}
		if have.Equal(c.Want) {
			continue
		}
		p.Steps = append(p.Steps, Step{Change: c, Have: have})
	}
	return p, nil
}

// Writable checks, without writing anything, that the host path could be
// created or replaced: its nearest existing ancestor directory must be
// writable (read-only file systems fail here with EROFS).
func (h Host) Writable(p string) error {
	dir := filepath.Dir(filepath.Clean(p))
	for {
		st, err := os.Stat(h.Local(dir))
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s: %s is not a directory", p, dir)
			}
			if err := unix.Access(h.Local(dir), unix.W_OK); err != nil {
				return fmt.Errorf("%s: directory %s is not writable: %w", p, dir, err)
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w", p, err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return fmt.Errorf("%s: no existing parent directory", p)
		}
		dir = parent
	}
}

// MkdirAll creates the host directory dir and its missing parents and
// returns the ones it created, outermost first.
func (h Host) MkdirAll(dir string, perm fs.FileMode) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(h.Local(d))
		if err == nil {
			if !st.IsDir() {
				return nil, fmt.Errorf("%s: not a directory", d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(h.Local(missing[i]), perm); err != nil && !errors.Is(err, fs.ErrExist) {
			return created, fmt.Errorf("create directory %s: %w", missing[i], err)
		}
		created = append(created, missing[i])
	}
	return created, nil
}

// Put makes the host path hold s: a file or symlink is created under a
// temporary name in the same directory and renamed over the path; Absent
// removes it. The directory must exist. A replaced file's owner is kept.
func (h Host) Put(p string, s State) error {
	local := h.Local(p)
	switch s.Kind {
	case Absent:
		if err := os.Remove(local); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		return syncDir(filepath.Dir(local))
	case File:
		return writeFile(p, local, s.Data, s.Mode.Perm())
	case Symlink:
		tmp, err := tempName(local)
		if err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.Symlink(s.Target, tmp); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.Rename(tmp, local); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("write %s: %w", p, err)
		}
		return syncDir(filepath.Dir(local))
	}
	return fmt.Errorf("%s: unknown state kind %q", p, s.Kind)
}

// tempName reserves an unused name beside local for a symlink.
func tempName(local string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(local), "."+filepath.Base(local)+".execguard-*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	f.Close()
	return name, os.Remove(name)
}

func writeFile(p, local string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(local)
	f, err := os.CreateTemp(dir, "."+filepath.Base(local)+".execguard-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", p, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if st, err := os.Stat(local); err == nil {
		if sys, ok := st.Sys().(*unix.Stat_t); ok {
			if err := f.Chown(int(sys.Uid), int(sys.Gid)); err != nil {
				return fail(err)
			}
		}
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := os.Rename(tmp, local); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", p, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	// Some file systems refuse fsync on directories; the rename is done.
	_ = d.Sync()
	return nil
}

// RemoveEmptyDirs removes the host directories that are empty and keeps
// the others. dirs is in creation order (outermost first), so walking it
// backwards removes children before their parents.
func (h Host) RemoveEmptyDirs(dirs []string) {
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = unix.Rmdir(h.Local(dirs[i]))
	}
}

// IsBinary reports whether data would make an unreadable diff.
func IsBinary(data []byte) bool {
	if bytes.IndexByte(data, 0) >= 0 {
		return true
	}
	return !utf8.Valid(data)
}

// SystemPath is where a runtime named without a directory is looked up:
// the PATH a service manager gives containerd and CRI-O.
const SystemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// LookPath finds an executable on the host the way exec.LookPath would
// with PATH=SystemPath, and returns its host path. A name with a slash is
// checked as it is.
func (h Host) LookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			return "", fmt.Errorf("%s: not an absolute path", name)
		}
		return name, h.executable(name)
	}
	for _, dir := range filepath.SplitList(SystemPath) {
		p := filepath.Join(dir, name)
		if h.executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in %s", name, SystemPath)
}

func (h Host) executable(p string) error {
	st, err := h.Stat(p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%s: %w", p, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", p)
	}
	if st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s: not executable", p)
	}
	return nil
}
