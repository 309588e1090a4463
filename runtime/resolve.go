package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/execguard/execguard/config"
)

// fallbackDirs are where a runtime is looked for when the configured path
// does not exist, in this order. Never PATH: the wrapper runs as root with
// its caller's environment.
var fallbackDirs = [...]string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// resolved is the real runtime a call goes to; note says why it is not the
// configured one.
type resolved struct {
	path string
	note string
}

// resolveRuntime finds the real runtime for the name the wrapper was called
// by. When the configured binary is missing, a runtime of the same name in
// a system directory, owned by root, not writable by others and not the
// wrapper itself, keeps containers working; the note reports it.
func resolveRuntime(cfg config.Config, argv0 string) (resolved, error) {
	want, err := cfg.RuntimePath(argv0)
	if err != nil {
		return resolved{}, err
	}
	fi, statErr := os.Stat(want)
	if statErr == nil && !fi.IsDir() {
		return resolved{path: want}, nil
	}
	if statErr == nil {
		statErr = fmt.Errorf("is a directory")
	}
	self, _ := os.Stat("/proc/self/exe")
	name := filepath.Base(want)
	for _, dir := range fallbackDirs {
		cand := filepath.Join(dir, name)
		if cand == want {
			continue
		}
		fi, err := os.Stat(cand)
		if err != nil || !usableRuntime(fi) || (self != nil && os.SameFile(fi, self)) {
			continue
		}
		return resolved{path: cand, note: fmt.Sprintf("configured runtime %s: %v; using %s", want, unwrap(statErr), cand)}, nil
	}
	return resolved{}, fmt.Errorf("configured runtime %s: %v, and no %s owned by root in %s", want, unwrap(statErr), name, strings.Join(fallbackDirs[:], ", "))
}

func usableRuntime(fi os.FileInfo) bool {
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 || fi.Mode().Perm()&0o022 != 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == 0
}

func unwrap(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
