package gensource

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGenerate(t *testing.T) {
	tests := []struct {
		name, src, want, err string
	}{
		{"formatted", "package p\nvar  x=1\n", "package p\n\nvar x = 1\n", ""},
		{"not Go", "package p\nvar (\n", "", "formatting generated source"},
		{"generator error", "", "", "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Generate(func() ([]byte, error) {
				if tt.src == "" {
					return nil, errors.New("boom")
				}
				return []byte(tt.src), nil
			})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Generate: %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("Generate = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestWriteIfChanged: an unchanged file is left alone (its time too, so a
// generate run does not make builds think it changed); a changed one is
// written.
func TestWriteIfChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gen.go")
	if err := WriteIfChanged(path, []byte("a")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if err := WriteIfChanged(path, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("unchanged file rewritten: %v, %v", fi.ModTime(), err)
	}
	if err := WriteIfChanged(path, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "b" {
		t.Errorf("changed file holds %q, %v; want b", b, err)
	}
}

func TestCurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gen.go")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	gen := func(s string) func() ([]byte, error) { return func() ([]byte, error) { return []byte(s), nil } }
	if err := Current(path, "go generate ./x", gen("old")); err != nil {
		t.Errorf("Current of an up-to-date file: %v", err)
	}
	if err := Current(path, "go generate ./x", gen("new")); err == nil || !strings.Contains(err.Error(), "run go generate ./x") {
		t.Errorf("Current of a stale file: %v, want an error naming the command", err)
	}
	if err := Current(filepath.Join(t.TempDir(), "missing.go"), "go generate ./x", gen("x")); err == nil {
		t.Error("Current of a missing file: no error")
	}
}
