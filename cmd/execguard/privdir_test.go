package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallTightensPrivateDirs: the state and event-log directories a
// DaemonSet's hostPath volumes made 0755 come out of install 0750; a
// second install has nothing to say about them; a directory that is a
// symbolic link fails the install.
func TestInstallTightensPrivateDirs(t *testing.T) {
	root, args := fakeNodeRoot(t)
	for _, d := range []string{"/run/execguard", "/var/log/execguard"} {
		p := filepath.Join(root, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := nodeCall(append([]string{"install", "--nri", "external"}, args...)...)
	if code != exitOK {
		t.Fatalf("install: %d %s\n%s", code, errOut, out)
	}
	for _, d := range []string{"/run/execguard", "/var/log/execguard"} {
		st, err := os.Stat(filepath.Join(root, d))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o750 {
			t.Errorf("%s: mode %04o after install, want 0750", d, st.Mode().Perm())
		}
		if want := "private directory " + d + ": mode 0755 -> 0750"; !strings.Contains(out, want) {
			t.Errorf("install output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = nodeCall(append([]string{"install", "--nri", "external"}, args...)...)
	if code != exitOK || strings.Contains(out, "private directory") {
		t.Errorf("second install: %d\n%s", code, out)
	}

	root, args = fakeNodeRoot(t)
	os.MkdirAll(filepath.Join(root, "run"), 0o755)
	if err := os.Symlink(t.TempDir(), filepath.Join(root, "run", "execguard")); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = nodeCall(append([]string{"install", "--nri", "external"}, args...)...)
	if code != exitNode || !strings.Contains(errOut, "/run/execguard is a symbolic link") {
		t.Errorf("install over a linked state directory: %d %s", code, errOut)
	}
}
