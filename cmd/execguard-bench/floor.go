package main

import (
	"debug/buildinfo"
	_ "embed"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
)

// floorSource is the Go floor: a Go program that only execs the real
// runtime. Whatever the wrapper costs beyond it is the wrapper's own work;
// what the floor costs over the runtime alone is Go's start-up.
//
//go:embed testdata/floor.go
var floorSource []byte

// buildFloor builds the floor into dir, exec'ing target, with the Go
// toolchain at goBin and the GOEXPERIMENT setting experiments (the
// wrapper's, so that both sides run the same Go runtime).
func buildFloor(goBin, dir, target, experiments string) (string, error) {
	src := filepath.Join(dir, "floor-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", fmt.Errorf("floor: %w", err)
	}
	files := map[string][]byte{"main.go": floorSource, "go.mod": []byte("module floor\n\ngo 1.22\n")}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
			return "", fmt.Errorf("floor: %w", err)
		}
	}
	out := filepath.Join(dir, "floor")
	cmd := exec.Command(goBin, "build", "-o", out, "-ldflags", "-X main.target="+target, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0", "GOEXPERIMENT="+experiments)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("floor: go build: %w: %s", err, strings.TrimSpace(string(b)))
	}
	return out, nil
}

// goExperiments is the GOEXPERIMENT setting the Go executable at path was
// built with ("" for the toolchain's defaults, or when path has no Go build
// information).
func goExperiments(path string) string {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, s := range info.Settings {
		if s.Key == "GOEXPERIMENT" {
			return s.Value
		}
	}
	return ""
}

// findGo is the Go toolchain that builds the floor: -go, else go in PATH,
// else the one this benchmark was built with.
func findGo(flagValue string) (string, error) {
	if flagValue != "" {
		return absExecutable(flagValue)
	}
	if p, err := exec.LookPath("go"); err == nil {
		return filepath.Abs(p)
	}
	p := filepath.Join(goruntime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no Go toolchain to build the floor wrapper (set -go): %w", err)
	}
	return p, nil
}

// standIn is a static executable that exits 0 at once: the cheapest
// possible runtime, so that what a wrapper adds in front of it stands out.
// One ELF header, one loadable segment, three instructions.
func standIn() ([]byte, error) {
	var machine uint16
	var code []byte
	switch goruntime.GOARCH {
	case "amd64":
		machine = 62
		code = []byte{0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05} // mov eax, 60 (exit); xor edi, edi; syscall
	case "arm64":
		machine = 183
		for _, ins := range []uint32{0xd2800ba8, 0xd2800000, 0xd4000001} { // mov x8, #93 (exit); mov x0, #0; svc #0
			code = binary.LittleEndian.AppendUint32(code, ins)
		}
	default:
		return nil, fmt.Errorf("no stand-in runtime for %s", goruntime.GOARCH)
	}
	const base, ehsize, phsize = 0x400000, 64, 56
	size := uint64(ehsize + phsize + len(code))
	le := binary.LittleEndian
	b := []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	b = le.AppendUint16(b, 2) // ET_EXEC
	b = le.AppendUint16(b, machine)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint64(b, base+ehsize+phsize) // entry
	b = le.AppendUint64(b, ehsize)             // program headers
	b = le.AppendUint64(b, 0)                  // no section headers
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, ehsize)
	b = le.AppendUint16(b, phsize)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, 1) // PT_LOAD
	b = le.AppendUint32(b, 5) // R+X
	b = le.AppendUint64(b, 0)
	b = le.AppendUint64(b, base)
	b = le.AppendUint64(b, base)
	b = le.AppendUint64(b, size)
	b = le.AppendUint64(b, size)
	b = le.AppendUint64(b, 0x1000)
	return append(b, code...), nil
}
