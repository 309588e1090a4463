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
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/internal/gensource"
)

// command is what the generated file says produced it.
const command = "go generate ./detect"

// generate returns typeinfo_gen.go's content, gofmt'ed.
func generate() ([]byte, error) {
	return gensource.Generate(func() ([]byte, error) { return detect.TypeInfoSource(command) })
}

func main() { gensource.Main("gentypeinfo", "typeinfo_gen.go", generate) }
