package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"
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

// compareSides keeps warm-up calls out, gives every side n samples and
// rotates which side goes first.
func TestCompareSides(t *testing.T) {
	var calls []string
	s, err := compareSides(context.Background(), []string{"a", "b", "c"}, 1, 3, func(_ context.Context, side string) (time.Duration, error) {
		calls = append(calls, side)
		return time.Duration(len(calls)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(calls, ""); got != "abcbcacababc" {
		t.Errorf("call order %s, want abc bca cab abc", got)
	}
	want := [][]time.Duration{{6, 8, 10}, {4, 9, 11}, {5, 7, 12}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("samples %v, want %v", s, want)
	}
}

// The floor is built as the wrapper was: goExperiments reads a Go
// executable's GOEXPERIMENT setting, and gives "" for anything else.
func TestGoExperiments(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "GOEXPERIMENT" {
				want = s.Value
			}
		}
	}
	if got := goExperiments(self); got != want {
		t.Errorf("this test binary: %q, want %q", got, want)
	}
	b, err := standIn()
	if err != nil {
		t.Skip(err)
	}
	p := filepath.Join(t.TempDir(), "runc")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := goExperiments(p); got != "" {
		t.Errorf("an executable without Go build information: %q, want none", got)
	}
}
