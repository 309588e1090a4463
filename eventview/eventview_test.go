package eventview

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// render prints every line of a recorded event file as the events command
// does: one line per event, and a note for each line that is not one.
func render(t *testing.T, file string, colour bool) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	p := NewPrinter(&out, colour)
	err = Scan(f, func(l Line) error {
		if len(bytes.TrimSpace(l.Data)) == 0 {
			return nil
		}
		e, err := Parse(l.Data)
		if err != nil {
			fmt.Fprintf(&out, "line %d: %s\n", l.Number, Escape(err.Error()))
			return nil
		}
		return p.Print(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// The recorded files: the demo's events (the wrapper on a real containerd),
// shells without a terminal and kubectl cp's tar (encoded by detect),
// the NRI plugin's end and coverage documents, and hostile content.
func TestGolden(t *testing.T) {
	tests := []struct {
		input, golden string
		colour        bool
	}{
		{"demo.ndjson", "demo.golden", false},
		{"demo.ndjson", "demo-colour.golden", true},
		{"plugin.ndjson", "plugin.golden", false},
		{"stdin.ndjson", "stdin.golden", false},
		{"hostile.ndjson", "hostile.golden", false},
		{"hostile.ndjson", "hostile-colour.golden", true},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got := render(t, filepath.Join("testdata", tt.input), tt.colour)
			golden := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (go test ./eventview -update rewrites it):\n%s", golden, got)
			}
		})
	}
}

// Whatever an event holds, the text printed carries no control character
// but the newline ending each line (and, with colour, our own SGR codes),
// and nothing invisible.
func TestHostileOutputIsInert(t *testing.T) {
	for _, colour := range []bool{false, true} {
		out := render(t, "testdata/hostile.ndjson", colour)
		if colour {
			out = stripSGR(out)
		}
		for i, r := range out {
			if r == '\n' {
				continue
			}
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
				t.Errorf("colour %v: rune %U at byte %d reaches the terminal", colour, r, i)
			}
		}
		if n := strings.Count(out, "\n"); n != 10 {
			t.Errorf("colour %v: %d lines, want 7 events and 3 notes: a value broke a line\n%s", colour, n, out)
		}
	}
}

// stripSGR removes the colour codes the printer writes itself: ESC [ digits
// and semicolons, then m.
func stripSGR(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == ';') {
				j++
			}
			if j < len(s) && s[j] == 'm' {
				i = j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, ünïcödé, 日本", "plain text, ünïcödé, 日本"},
		{"\x1b[31mred", `\x1b[31mred`},
		{"a\nb\tc\rd", `a\nb\tc\rd`},
		{`already \x1b escaped`, `already \\x1b escaped`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"csi\u009bm", `csi\u009bm`},
		{"rlo\u202etxt.exe", `rlo\u202etxt.exe`},
		{"zero\u200bwidth\ufeff", `zero\u200bwidth\ufeff`},
		{"line\u2028sep", `line\u2028sep`},
		{"bad \xff utf8", `bad \xff utf8`},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func loadEvents(t *testing.T, files ...string) []Event {
	t.Helper()
	var events []Event
	for _, file := range files {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			e, err := Parse(line)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			events = append(events, e)
		}
	}
	return events
}

func TestFilter(t *testing.T) {
	events := loadEvents(t, "demo.ndjson", "plugin.ndjson")
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name   string
		filter Filter
		want   int
	}{
		{"all", Filter{}, 20},
		{"alerts", Filter{Kind: "alert"}, 5},
		{"events", Filter{Kind: "event"}, 15},
		{"blocked", Filter{Outcome: "failure"}, 4},
		{"namespace", Filter{Namespace: "demo"}, 19},
		{"namespace pattern", Filter{Namespace: "pay*"}, 1},
		{"pod", Filter{Pod: "web"}, 19},
		{"container by name", Filter{Container: "shell"}, 16},
		{"container by id prefix", Filter{Container: "fb6ce20f*"}, 2},
		{"no such namespace", Filter{Namespace: "kube-system"}, 0},
		{"since", Filter{Since: at("2026-12-02T19:55:10.9Z")}, 6},
		{"until", Filter{Until: at("2026-12-02T19:55:10.3Z")}, 4},
		{"window", Filter{Since: at("2026-12-02T19:55:10.6Z"), Until: at("2026-12-02T19:55:10.8Z")}, 4},
		{"blocked alerts in the shell container", Filter{Kind: "alert", Outcome: "failure", Container: "shell"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.filter.Validate(); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range events {
				if tt.filter.Match(e) {
					n++
				}
			}
			if n != tt.want {
				t.Errorf("%d events match, want %d", n, tt.want)
			}
		})
	}
}

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		filter Filter
		want   string
	}{
		{Filter{Namespace: "[a-"}, `namespace "[a-": not a valid pattern`},
		{Filter{Kind: "alerts"}, `kind "alerts": want event or alert`},
		{Filter{Outcome: "blocked"}, `outcome "blocked": want success, failure or unknown`},
		{Filter{Since: time.Unix(10, 0), Until: time.Unix(5, 0)}, "is not before until"},
	}
	for _, tt := range tests {
		if err := tt.filter.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.filter, err, tt.want)
		}
	}
}

// Follow hands over lines as they are completed, and keeps going across a
// rotation and a truncation.
func TestFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.ndjson")
	write := func(flag int, s string) {
		t.Helper()
		f, err := os.OpenFile(path, flag|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	write(os.O_CREATE|os.O_TRUNC, "one\ntwo\n")

	ctx, cancel := context.WithCancel(context.Background())
	lines := make(chan Line, 16)
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, path, time.Millisecond, func(l Line) error {
			lines <- Line{Data: append([]byte(nil), l.Data...), Number: l.Number}
			return nil
		})
	}()
	expect := func(want ...string) {
		t.Helper()
		for _, w := range want {
			select {
			case l := <-lines:
				if got := fmt.Sprintf("%d:%s", l.Number, l.Data); got != w {
					t.Fatalf("got line %q, want %q", got, w)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no line %q", w)
			}
		}
	}
	expect("1:one", "2:two")
	write(os.O_APPEND, "thr")
	write(os.O_APPEND, "ee\n")
	expect("3:three")

	// Rotation: the old file gets a last line, then a new file appears.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path+".1", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("four\n")
	f.Close()
	write(os.O_CREATE|os.O_EXCL, "new-one\n")
	expect("4:four", "1:new-one")

	// Truncation in place (copytruncate): read again from the start.
	write(os.O_TRUNC, "")
	write(os.O_APPEND, "a\n")
	expect("1:a")

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Follow: %v", err)
	}
	select {
	case l := <-lines:
		t.Errorf("unexpected line %q", l.Data)
	default:
	}
}

func TestFollowMissingFile(t *testing.T) {
	err := Follow(context.Background(), filepath.Join(t.TempDir(), "none"), time.Millisecond, func(Line) error { return nil })
	if !os.IsNotExist(err) {
		t.Errorf("Follow of a missing file: %v", err)
	}
}

// BenchmarkParseLine is the work per event of execguard events: decode the
// document, filter, render the line.
func BenchmarkParseLine(b *testing.B) {
	data, err := os.ReadFile("testdata/demo.ndjson")
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	p := NewPrinter(io.Discard, false)
	f := Filter{Namespace: "demo", Kind: "alert"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		e, err := Parse(lines[i%len(lines)])
		if err != nil {
			b.Fatal(err)
		}
		_ = f.Match(e)
		_ = p.Line(e)
	}
}
