// Package privdir keeps execguard's state and event-log directories on a
// node private to their owner. Something other than execguard may have made
// them first: a Kubernetes hostPath volume of type DirectoryOrCreate creates
// a missing directory 0755, so any local user could list the containers'
// records and read every exec's command line in the event log.
package privdir

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Mode is the most a private directory may allow: execguard's own code
// creates them 0750 (root and root's group).
const Mode fs.FileMode = 0o750

// Change says what Tighten did to one directory.
type Change struct {
	Dir      string      // as the node sees it
	From, To fs.FileMode // permission bits before and after
}

func (c Change) String() string {
	return fmt.Sprintf("%s: mode %04o -> %04o (no access for other users)", c.Dir, c.From, c.To)
}

// Tighten checks dir (a node path, under root) and clears every permission
// bit beyond Mode. A missing directory is left to execguard, which creates
// it private. A directory not owned by uid (the installing user, root on a
// node), a symbolic link or another kind of file is refused: whoever owns or
// placed it could read or redirect execguard's records, and fixing the mode
// would not take that away. changed is nil when nothing needed doing.
func Tighten(root, dir string, uid int) (changed *Change, err error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("private directory %q: want an absolute path", dir)
	}
	p := filepath.Join(root, dir)
	st, err := os.Lstat(p)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("private directory %s: %w", dir, err)
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("private directory %s is a symbolic link: refusing to use it (remove it; execguard creates it)", dir)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("private directory %s is a %s, not a directory", dir, st.Mode().Type())
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("private directory %s: no owner information", dir)
	}
	if int(sys.Uid) != uid {
		return nil, fmt.Errorf("private directory %s is owned by uid %d, not %d: whoever owns it can read and replace execguard's records; remove it or give it to uid %d", dir, sys.Uid, uid, uid)
	}
	from := st.Mode().Perm()
	// setgid, setuid and sticky mean nothing wanted here either.
	if from&^Mode == 0 && st.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) == 0 {
		return nil, nil
	}
	to := from & Mode
	if err := os.Chmod(p, to); err != nil {
		return nil, fmt.Errorf("private directory %s: make it %04o: %w", dir, to, err)
	}
	return &Change{Dir: dir, From: from, To: to}, nil
}
