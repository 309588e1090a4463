package privdir

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTighten(t *testing.T) {
	uid := os.Geteuid()
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, p string)
		want    fs.FileMode // mode afterwards (0: no directory expected)
		changed bool
		err     string
	}{
		{name: "made by a hostPath volume", setup: mkdir(0o755), want: 0o750, changed: true},
		{name: "world-writable", setup: mkdir(0o777), want: 0o750, changed: true},
		{name: "already private", setup: mkdir(0o750), want: 0o750},
		{name: "owner only", setup: mkdir(0o700), want: 0o700},
		{name: "missing", setup: func(*testing.T, string) {}},
		{name: "a symbolic link", setup: func(t *testing.T, p string) {
			if err := os.Symlink(t.TempDir(), p); err != nil {
				t.Fatal(err)
			}
		}, err: "symbolic link"},
		{name: "a file", setup: func(t *testing.T, p string) {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, err: "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, "run"), 0o755); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, filepath.Join(root, "run", "execguard"))
			ch, err := Tighten(root, "/run/execguard", uid)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (ch != nil) != tc.changed {
				t.Errorf("changed %v, want %v", ch, tc.changed)
			}
			st, err := os.Lstat(filepath.Join(root, "run", "execguard"))
			if tc.want == 0 {
				if !os.IsNotExist(err) {
					t.Errorf("a missing directory was made: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != tc.want {
				t.Errorf("mode %04o, want %04o", st.Mode().Perm(), tc.want)
			}
			if ch != nil && (ch.Dir != "/run/execguard" || ch.To != tc.want) {
				t.Errorf("change %+v", ch)
			}
		})
	}
}

func TestTightenRefusesAnotherOwner(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "state"), 0o750); err != nil {
		t.Fatal(err)
	}
	// Whoever runs the test owns the directory; any other uid is "someone else".
	other := os.Geteuid() + 1
	_, err := Tighten(root, "/state", other)
	if err == nil || !strings.Contains(err.Error(), "is owned by uid") {
		t.Fatalf("error %v, want a refusal naming the owner", err)
	}
}

func TestTightenRelativePath(t *testing.T) {
	if _, err := Tighten(t.TempDir(), "run/execguard", os.Geteuid()); err == nil {
		t.Fatal("a relative path was accepted")
	}
}

func mkdir(mode fs.FileMode) func(t *testing.T, p string) {
	return func(t *testing.T, p string) {
		if err := os.Mkdir(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
}
