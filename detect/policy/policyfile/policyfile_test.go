package policyfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/execguard/execguard/detect/policy"
)

// With EXECGUARD_TEST_HELPER set, the test binary is the policy compiler
// helper: it answers "policy compile --name FILE" as the execguard command
// does.
func TestMain(m *testing.M) {
	switch os.Getenv("EXECGUARD_TEST_HELPER") {
	case "serve":
		args := os.Args[1:]
		if len(args) != 4 || args[0] != "policy" || args[1] != "compile" || args[2] != "--name" {
			os.Exit(3)
		}
		os.Exit(ServeCompile(args[3], os.Stdin, os.Stdout))
	case "garbage":
		os.Stdout.WriteString("hello")
		os.Exit(0)
	case "crash":
		os.Stderr.WriteString("panic: something broke")
		os.Exit(2)
	}
	os.Exit(m.Run())
}

const (
	valid = `process:
  selectors:
    - name: interactive
      operation: [exec]
      sessionLeaderInteractive: true
  responses:
    - match: [interactive]
      actions: [alert, block]
`
	invalid = `process:
  selectors:
    - name: interactive
      operation: exec
  responses:
    - match: [interactive]
      actions: [block]
`
)

func TestParseAndLoad(t *testing.T) {
	p, err := Parse("p.yaml", []byte(valid))
	if err != nil || p.SelectorNames()[0] != "interactive" || p.Source() != "p.yaml" {
		t.Fatalf("Parse: %v, %v", p, err)
	}
	_, err = Parse("p.yaml", []byte(invalid))
	var es policy.Errors
	if !errors.As(err, &es) || len(es) != 2 {
		t.Fatalf("Parse of an invalid policy: %v", err)
	}
	// Reading and compiling problems come together, in file order.
	if es[0].Line != 4 || !strings.Contains(es[0].Msg, "want a list") || es[1].Line != 7 || !strings.Contains(es[1].Msg, "block without alert") {
		t.Errorf("errors:\n%v", err)
	}

	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte(valid), 0o644); err != nil {
		t.Fatal(err)
	}
	lp, err := Load(path)
	if err != nil || lp.Revision() != p.Revision() {
		t.Fatalf("Load: %v, %v", lp, err)
	}
	if _, err := Load(path + ".missing"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func setHelper(t *testing.T, mode string) string {
	t.Helper()
	t.Setenv("EXECGUARD_TEST_HELPER", mode)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

// The wrapper's path: a helper process parses, the wrapper compiles and
// caches, and gets every problem of an invalid file.
func TestHelperParser(t *testing.T) {
	parse := policy.HelperParser(setHelper(t, "serve"))
	dir := t.TempDir()
	path, state := filepath.Join(dir, "p.yaml"), filepath.Join(dir, "state")

	if err := os.WriteFile(path, []byte(valid), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := policy.LoadOrLastGood(path, state, parse)
	if err != nil || p.SelectorNames()[0] != "interactive" {
		t.Fatalf("valid policy through the helper: %v, %v", p, err)
	}
	want, _ := Parse(path, []byte(valid))
	if p.Revision() != want.Revision() {
		t.Errorf("revision %s, want %s", p.Revision(), want.Revision())
	}

	if err := os.WriteFile(path, []byte(invalid), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err = policy.LoadOrLastGood(path, state, parse)
	var es policy.Errors
	if !errors.As(err, &es) || len(es) != 2 || es[0].File != path || es[0].Line != 4 || es[0].Column != 18 || es[0].Hint == "" {
		t.Fatalf("invalid policy through the helper: error %v", err)
	}
	if p == nil || p.Revision() != want.Revision() {
		t.Fatalf("invalid policy: got %v, want the last good one", p)
	}
}

func TestHelperParserFailures(t *testing.T) {
	tests := []struct {
		name, mode, bin, want string
	}{
		{"missing helper", "serve", "/nonexistent/execguard", "policy compiler /nonexistent/execguard"},
		{"garbage answer", "garbage", "", "not a policy compiler answer"},
		{"helper crash", "crash", "", "panic: something broke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := setHelper(t, tt.mode)
			if tt.bin != "" {
				bin = tt.bin
			}
			s, err := policy.HelperParser(bin)("p.yaml", []byte(valid))
			if s != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, %v; want an error containing %q", s, err, tt.want)
			}
		})
	}
}

func TestServeCompile(t *testing.T) {
	var out strings.Builder
	if code := ServeCompile("p.yaml", strings.NewReader(valid), &out); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	s, err := policy.DecodeHelperAnswer([]byte(out.String()))
	if err != nil || len(s.Selectors) != 1 || s.Selectors[0].Name != "interactive" {
		t.Fatalf("answer: %v, %v", s, err)
	}
	out.Reset()
	if code := ServeCompile("p.yaml", strings.NewReader(invalid), &out); code != 1 || !strings.Contains(out.String(), `"Line":4`) {
		t.Fatalf("exit %d: %s", code, out.String())
	}
}

// BenchmarkHelperMiss is what the first runtime call after a policy change
// pays in the wrapper: the helper process parses, the wrapper compiles and
// writes its cache.
func BenchmarkHelperMiss(b *testing.B) {
	b.Setenv("EXECGUARD_TEST_HELPER", "serve")
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(path, []byte(valid), 0o644); err != nil {
		b.Fatal(err)
	}
	parse := policy.HelperParser(self)
	for i := 0; i < b.N; i++ {
		if _, err := policy.LoadOrLastGood(path, filepath.Join(dir, fmt.Sprint("state", i)), parse); err != nil {
			b.Fatal(err)
		}
	}
}
