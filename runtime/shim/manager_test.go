package shim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// containerd 1.x is told version 2, the only one it accepts; containerd 2
// and later 3, as by its own runc shim; a version that says nothing is 2,
// which every containerd since 1.7 accepts.
func TestBootstrapFor(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    int
		err     bool
	}{
		{"1.7.35+unknown", 2, false},
		{"v1.7.23-k3s2", 2, false},
		{"v1.6.0", 2, false},
		{"v2.2.9", 3, false},
		{"2.2.9+unknown", 3, false},
		{"v2.0.0-rc.1", 3, false},
		{"v3.0.0", 3, false},
		{"", 2, true},
		{"dev", 2, true},
		{"v", 2, true},
	} {
		t.Run(tc.version, func(t *testing.T) {
			got, err := bootstrapFor(tc.version)
			if got != tc.want || (err != nil) != tc.err {
				t.Errorf("bootstrapFor(%q) = %d, %v; want %d, error %v", tc.version, got, err, tc.want, tc.err)
			}
		})
	}
}

// A containerd that cannot be asked gets version 2, with the reason.
func TestBootstrapVersionUnreachable(t *testing.T) {
	for _, addr := range []string{"", filepath.Join(t.TempDir(), "none.sock")} {
		v, err := bootstrapVersion(context.Background(), addr)
		if v != bootstrapV2 || err == nil {
			t.Errorf("bootstrapVersion(%q) = %d, %v; want 2 and why", addr, v, err)
		}
	}
}

// A warning of the start goes to the shim log FIFO containerd reads, and
// nowhere when the log is not a FIFO.
func TestStartLog(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := unix.Mkfifo("log", 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile("log", os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	startLog("execguard: no version from %s", "here")
	buf := make([]byte, 4096)
	n, err := r.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "execguard: no version from here") || !strings.Contains(string(buf[:n]), "level=warning") {
		t.Errorf("shim log got %q, %v; want the warning", buf[:n], err)
	}

	other := t.TempDir()
	t.Chdir(other)
	if err := os.WriteFile("log", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	startLog("execguard: dropped")
	if b, _ := os.ReadFile(filepath.Join(other, "log")); len(b) != 0 {
		t.Errorf("a regular file named log got %q", b)
	}
}
