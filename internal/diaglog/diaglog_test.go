package diaglog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestAppendAndTail(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state") // made by the first Append
	for i := range 12 {
		if err := Append(dir, "warning", fmt.Sprintf("execguard: warning %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", fi.Mode().Perm())
	}
	lines, err := Tail(dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 5 || !strings.HasSuffix(lines[4], `msg="execguard: warning 11"`) || !strings.Contains(lines[0], "warning 7") {
		t.Errorf("tail = %q, want warnings 7 to 11", lines)
	}
	if !strings.HasPrefix(lines[0], `time="`) || !strings.Contains(lines[0], " level=warning ") {
		t.Errorf("line %q, want logrus text form", lines[0])
	}
}

func TestTailMissing(t *testing.T) {
	lines, err := Tail(t.TempDir(), 5)
	if err != nil || lines != nil {
		t.Errorf("Tail of no file = %q, %v; want nothing", lines, err)
	}
}

// A file in the diagnostics file's place that someone else could have
// planted is neither written through nor shown.
func TestUntrustedFile(t *testing.T) {
	tests := []struct {
		name  string
		plant func(t *testing.T, path string)
		want  string
	}{
		{"symlink", func(t *testing.T, path string) {
			target := filepath.Join(filepath.Dir(path), "elsewhere")
			must(t, os.WriteFile(target, nil, 0o600))
			must(t, os.Symlink(target, path))
		}, "symbolic link"},
		{"group-writable", func(t *testing.T, path string) {
			must(t, os.WriteFile(path, nil, 0o600))
			must(t, os.Chmod(path, 0o620))
		}, "writable by group or others"},
		{"fifo", func(t *testing.T, path string) {
			must(t, unix.Mkfifo(path, 0o600))
		}, "not a regular file"},
		{"other owner", func(t *testing.T, path string) {
			must(t, os.WriteFile(path, nil, 0o600))
			must(t, os.Chown(path, 65534, 65534))
		}, "not root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "other owner" && os.Geteuid() != 0 {
				t.Skip("chown needs root")
			}
			dir := t.TempDir()
			tt.plant(t, Path(dir))
			err := Append(dir, "warning", "execguard: x")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Append: %v, want an error saying %q", err, tt.want)
			}
			if tt.name == "fifo" {
				return // Tail would not block either, but says "not a regular file"
			}
			if _, err := Tail(dir, 5); err == nil {
				t.Errorf("Tail read an untrusted file")
			}
			if target := filepath.Join(dir, "elsewhere"); tt.name == "symlink" {
				if data, _ := os.ReadFile(target); len(data) != 0 {
					t.Errorf("written through the link: %q", data)
				}
			}
		})
	}
}

func TestRotate(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(Path(dir), []byte(strings.Repeat("x", MaxBytes-1)+"\n"), 0o600))
	if err := Append(dir, "error", "execguard: after rotation"); err != nil {
		t.Fatal(err)
	}
	old, err := os.Stat(Path(dir) + ".1")
	if err != nil || old.Size() != MaxBytes {
		t.Fatalf("rotated file: %v, %v", old, err)
	}
	data, err := os.ReadFile(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != 1 || !strings.Contains(string(data), "after rotation") {
		t.Errorf("after rotation the file holds %q", data)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
