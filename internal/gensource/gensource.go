// Package gensource is what execguard's build-time generators (go generate)
// share: their output gofmt'ed and written only when it changed, and, for
// their tests, a look at a package's compiled object file (to check that
// generated values are static data, not built when a process starts).
package gensource

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"strings"
)

// Generate formats the source generate returns.
func Generate(generate func() ([]byte, error)) ([]byte, error) {
	src, err := generate()
	if err != nil {
		return nil, err
	}
	out, err := format.Source(src)
	if err != nil {
		return nil, fmt.Errorf("formatting generated source: %w", err)
	}
	return out, nil
}

// WriteIfChanged writes data to path unless the file already holds it.
func WriteIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return os.WriteFile(path, data, 0o644)
}

// Main is a generator command's main: it writes generate's formatted
// source to the file named by -o (out by default), exiting 1 with name's
// message on failure.
func Main(name, out string, generate func() ([]byte, error)) {
	path := flag.String("o", out, "file to write")
	flag.Parse()
	data, err := Generate(generate)
	if err == nil {
		err = WriteIfChanged(*path, data)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Current reports, as an error naming cmd, when the file at path is not
// what generate writes now.
func Current(path, cmd string, generate func() ([]byte, error)) error {
	want, err := generate()
	if err != nil {
		return err
	}
	got, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s is not what its generator writes: run %s (make generate)", path, cmd)
	}
	return nil
}

// Object returns the path of pkg's compiled object file (go list -export)
// and runs `go tool` with args and that path last, returning its output.
func Object(pkg string, tool ...string) (obj string, out []byte, err error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", nil, fmt.Errorf("the go command is needed to inspect %s's object file: %w", pkg, err)
	}
	b, err := exec.Command(goBin, "list", "-export", "-f", "{{.Export}}", pkg).Output()
	if err != nil {
		return "", nil, fmt.Errorf("go list -export %s: %w", pkg, err)
	}
	obj = strings.TrimSpace(string(b))
	out, err = exec.Command(goBin, append(append([]string{"tool"}, tool...), obj)...).Output()
	if err != nil {
		return obj, nil, fmt.Errorf("go tool %s %s: %w", strings.Join(tool, " "), obj, err)
	}
	return obj, out, nil
}
