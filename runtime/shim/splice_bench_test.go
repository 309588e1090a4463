package shim

import (
	"io"
	"os"
	"testing"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/runtime/ttyrec"
)

// BenchmarkTee measures the shim's hop for recorded output: 4 KiB writes
// (as the console copy writes) through tee to a reader, against the same
// writes straight to the reader. Bytes per op are the output.
func BenchmarkTee(b *testing.B) {
	const total = 32 << 20
	chunk := make([]byte, 4096)
	run := func(b *testing.B, hop bool) {
		b.SetBytes(total)
		for i := 0; i < b.N; i++ {
			outR, outW, _ := os.Pipe()
			done := make(chan struct{})
			go func() { io.Copy(io.Discard, outR); close(done) }()
			w := outW
			teeDone := make(chan struct{})
			if hop {
				inR, inW, _ := os.Pipe()
				rec, _ := ttyrec.New(ttyrec.Options{Session: detect.Session{EntityID: "E1"}, Emit: func([]byte) error { return nil }})
				go func() {
					if err := tee(inR, outW, rec); err != nil {
						b.Error(err)
					}
					rec.Close()
					outW.Close()
					close(teeDone)
				}()
				w = inW
			}
			for n := 0; n < total; n += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
			w.Close()
			if hop {
				<-teeDone
			}
			<-done
		}
	}
	b.Run("direct", func(b *testing.B) { run(b, false) })
	b.Run("tee", func(b *testing.B) { run(b, true) })
}
