package shim

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/runtime/ttyrec"
)

// TestTee runs the shim's tee between real pipes: everything written comes
// out the other side, and the recording keeps what its cap allows.
func TestTee(t *testing.T) {
	tests := []struct {
		name     string
		output   string
		maxBytes int64
	}{
		{"under the cap", strings.Repeat("line of output\r\n", 10), 1000},
		{"exactly the cap", strings.Repeat("x", 999) + "\n", 1000},
		{"over the cap", strings.Repeat("0123456789abcde\n", 4000), 1000},
		{"large", strings.Repeat(strings.Repeat("y", 63)+"\n", 1<<15), 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inR, inW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			outR, outW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var docs [][]byte
			rec, err := ttyrec.New(ttyrec.Options{
				Session:  detect.Session{EntityID: "E1"},
				MaxBytes: tt.maxBytes,
				Emit: func(l []byte) error {
					mu.Lock()
					docs = append(docs, append([]byte(nil), l...))
					mu.Unlock()
					return nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			read := make(chan struct{})
			go func() {
				io.Copy(&got, outR)
				close(read)
			}()
			go func() {
				inW.Write([]byte(tt.output))
				inW.Close()
			}()
			if err := tee(inR, outW, rec); err != nil {
				t.Fatalf("tee: %v", err)
			}
			outW.Close()
			<-read
			st := rec.Close()
			if got.String() != tt.output {
				t.Errorf("handed on %d bytes, want the %d written", got.Len(), len(tt.output))
			}
			want := min(int64(len(tt.output)), tt.maxBytes)
			if st.Captured+st.Dropped != want || st.Skipped-st.Dropped != int64(len(tt.output))-want {
				t.Errorf("stats %+v: want %d bytes recorded or dropped under the cap, %d past it", st, want, int64(len(tt.output))-want)
			}
			if st.Exceeded != (int64(len(tt.output)) > tt.maxBytes) {
				t.Errorf("exceeded %v", st.Exceeded)
			}
			if len(docs) == 0 {
				t.Errorf("no documents")
			}
		})
	}
}
