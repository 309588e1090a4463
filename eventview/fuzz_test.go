package eventview

import (
	"os"
	"strings"
	"testing"
)

// FuzzLine: whatever a log line holds, the readable line execguard events
// prints from it is one line without a control character (colour off), so
// showing a hostile log cannot drive the terminal.
func FuzzLine(f *testing.F) {
	for _, name := range []string{"testdata/demo.ndjson", "testdata/hostile.ndjson", "testdata/plugin.ndjson"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line != "" {
				f.Add([]byte(line))
			}
		}
	}
	p := NewPrinter(nil, false)
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := Parse(line)
		if err != nil {
			return
		}
		for _, r := range p.Line(e) {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("rendered line holds control character %U", r)
			}
		}
	})
}
