package core

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestSpecReader(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name  string
		path  string
		whole bool // read at once, parsed in place
	}{
		{"empty", write("empty", nil), true},
		{"process spec", write("process.json", []byte(`{"terminal":true,"args":["sh"],"cwd":"/"}`)), true},
		{"at the bound", write("bound", bytes.Repeat([]byte(" "), wholeSpecMax)), true},
		{"over the bound: streamed", write("big", bytes.Repeat([]byte(" "), wholeSpecMax+1)), false},
		// Size 0 in its stat, content when read: what is read past the
		// stat's size is streamed behind it.
		{"larger than its stat", "/proc/self/status", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r := specReader(f)
			if _, whole := r.(*bytes.Buffer); whole != tt.whole {
				t.Errorf("read whole: %v, want %v", whole, tt.whole)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			// /proc/self/status is of the reading process at each read;
			// its first line (Name) is stable.
			if tt.path == "/proc/self/status" {
				got, want = firstLine(got), firstLine(want)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("read %d bytes that differ from the file's %d", len(got), len(want))
			}
		})
	}
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

func TestSpecReaderStreamsWhatIsNotARegularFile(t *testing.T) {
	// A directory (like a FIFO or a device) is handed over as the file, so
	// its read error reaches the decoder as it would without read-ahead.
	f, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := specReader(f)
	if r != io.Reader(f) {
		t.Fatalf("a directory was read ahead: got %T", r)
	}
	if _, err := r.Read(make([]byte, 1)); err == nil {
		t.Error("reading a directory: no error")
	}
}
