package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The stand-in runtime runs and exits 0, whatever its arguments.
func TestStandIn(t *testing.T) {
	b, err := standIn()
	if err != nil {
		t.Skip(err) // an architecture without one: -cold says so
	}
	p := filepath.Join(t.TempDir(), "runc")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(p, "--root", "/x", "exec", "--process", "/p.json", "c").CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Fatalf("stand-in: %v, output %q", err, out)
	}
}

func TestParseInitTrace(t *testing.T) {
	in := "init internal/bytealg @0.008 ms, 0.004 ms clock, 0 bytes, 0 allocs\n" +
		"some other line\n" +
		"init github.com/pelletier/go-toml/v2 @1.2 ms, 0.250 ms clock, 4096 bytes, 12 allocs\n"
	got, err := parseInitTrace(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []initTrace{{"internal/bytealg", 0.004, 0}, {"github.com/pelletier/go-toml/v2", 0.25, 4096}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := parseInitTrace("nothing\n"); err == nil {
		t.Error("no init lines: no error")
	}
}
