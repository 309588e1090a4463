package main

import (
	"strings"
	"testing"

	"github.com/execguard/execguard/internal/gensource"
)

// TestGeneratedFileCurrent holds typeinfo_gen.go to what the generator writes now.
func TestGeneratedFileCurrent(t *testing.T) {
	if err := gensource.Current("../../typeinfo_gen.go", command, generate); err != nil {
		t.Fatal(err)
	}
}

// TestTypeInfoStatic checks that the generated tables are laid out by the
// linker: each is initialised data in package detect's object file, and
// detect's init does not touch one (it would if any part of a table were
// built at start-up).
func TestTypeInfoStatic(t *testing.T) {
	const pkg = "github.com/execguard/execguard/detect"
	obj, syms, err := gensource.Object(pkg, "nm")
	if err != nil {
		t.Fatal(err)
	}
	tables := 0
	for _, line := range strings.Split(string(syms), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasPrefix(f[2], pkg+".genTypeInfo") {
			continue
		}
		tables++
		if f[1] != "D" && f[1] != "R" {
			t.Errorf("%s is of kind %s, not initialised data: it is built at start-up", f[2], f[1])
		}
	}
	if tables == 0 {
		t.Fatalf("no genTypeInfo tables among %s's symbols", obj)
	}
	_, init, err := gensource.Object(pkg, "objdump", "-s", `^`+strings.ReplaceAll(pkg, ".", `\.`)+`\.init$`)
	if err != nil {
		t.Fatal(err)
	}
	if len(init) == 0 {
		t.Fatalf("no detect.init in %s", obj)
	}
	if strings.Contains(string(init), pkg+".genTypeInfo") {
		t.Errorf("package detect's init writes a generated table:\n%s", init)
	}
}
