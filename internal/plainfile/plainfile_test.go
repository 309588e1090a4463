package plainfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 10000)
	tests := []struct {
		name string
		path string
		want []byte // nil: compare with os.ReadFile
	}{
		{"empty", write(t, dir, "empty", nil), []byte{}},
		{"small", write(t, dir, "small", []byte("x\n")), []byte("x\n")},
		{"larger than a read", write(t, dir, "big", big), big},
		{"proc file of size 0", "/proc/self/cmdline", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadFile(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == nil {
				if want, err = os.ReadFile(tt.path); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, want) {
				t.Errorf("ReadFile(%s): %d bytes, want %d", tt.path, len(got), len(want))
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(filepath.Join(dir, "missing"))
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Path != filepath.Join(dir, "missing") {
		t.Errorf("Open(missing) = %v, want a *fs.PathError naming the file that is fs.ErrNotExist", err)
	}
}

// TestOpenBlocking: the descriptor is a blocking one, which is what keeps
// os.NewFile from registering it with the poller.
func TestOpenBlocking(t *testing.T) {
	f, err := Open(write(t, t.TempDir(), "f", []byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Not f.Fd(): it would make the descriptor blocking itself.
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	if cerr := rc.Control(func(fd uintptr) { flags, err = unix.FcntlInt(fd, unix.F_GETFL, 0) }); cerr != nil || err != nil {
		t.Fatal(cerr, err)
	}
	if flags&unix.O_NONBLOCK != 0 {
		t.Errorf("flags %#x include O_NONBLOCK", flags)
	}
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
