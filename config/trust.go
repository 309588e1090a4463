package config

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// CheckTrusted reports why a file the wrapper takes orders from (its
// configuration, a policy) must not be trusted: it must be owned by root, or
// by the user the wrapper runs as, and not writable by group or others.
// Anyone who can write it could otherwise redirect the root-run wrapper's
// writes or switch detection off.
func CheckTrusted(path string, fi fs.FileInfo) error {
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (mode %04o); refused: make it 0644 or stricter", path, fi.Mode().Perm())
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not root; refused", path, st.Uid)
	}
	return nil
}
