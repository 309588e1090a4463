package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/execguard/execguard/internal/gensource"
)

// TestGeneratedFileCurrent holds builtin_gen.go to what the generator writes now.
func TestGeneratedFileCurrent(t *testing.T) {
	if err := gensource.Current("../../builtin_gen.go", command, generate); err != nil {
		t.Fatal(err)
	}
}

// TestBuiltinStatic checks that package eql's init does nothing: the precompiled queries are
// laid out by the linker, not built when a process starts. An init that builds anything
// (even one map) is far longer than a bare return.
func TestBuiltinStatic(t *testing.T) {
	obj, syms, err := gensource.Object("github.com/execguard/execguard/detect/eql", "nm", "-size")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, line := range strings.Split(string(syms), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || f[3] != "github.com/execguard/execguard/detect/eql.init" {
			continue
		}
		found = true
		size, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("go tool nm: size of %s: %v", line, err)
		}
		if size > 16 {
			t.Errorf("package eql's init is %d bytes of code: a package-level value (builtin_gen.go's or another) is built at start-up, not laid out as static data", size)
		}
	}
	if !found {
		t.Fatalf("no eql.init in %s's symbols:\n%s", obj, syms)
	}
}
