// Command gentypeinfo writes package detect's typeinfo_gen.go: the JSON
// member tables of the event document's types, derived from their tags at
// build time, so the runtime wrapper, a fresh process on every exec, does
// not parse tags and build the tables each time. Run it with go generate
// ./detect (or make generate) whenever a document type changes; tests fail
// until then. A type renamed or removed leaves typeinfo_gen.go, and so this
// command, uncompilable: cut the file down to a staticTypeInfo that returns
// nil first.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"

	"github.com/execguard/execguard/detect"
)

// command is what the generated file says produced it.
const command = "go generate ./detect"

// generate returns typeinfo_gen.go's content, gofmt'ed.
func generate() ([]byte, error) {
	src, err := detect.TypeInfoSource(command)
	if err != nil {
		return nil, err
	}
	out, err := format.Source(src)
	if err != nil {
		return nil, fmt.Errorf("formatting generated source: %w", err)
	}
	return out, nil
}

func main() {
	out := flag.String("o", "typeinfo_gen.go", "file to write")
	flag.Parse()
	data, err := generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gentypeinfo:", err)
		os.Exit(1)
	}
	if old, err := os.ReadFile(*out); err == nil && bytes.Equal(old, data) {
		return
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gentypeinfo:", err)
		os.Exit(1)
	}
}
