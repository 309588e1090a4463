// Command genbuiltin writes package eql's builtin_gen.go: execguard's built-in rules'
// queries compiled at build time, so the runtime wrapper, a fresh process on every exec,
// does not lex and parse them each time. Run it with go generate ./detect/eql (or make
// generate) whenever a built-in query changes; tests fail until then.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/eql"
)

// command is what the generated file says produced it.
const command = "go generate ./detect/eql"

// queries are the built-in rules' queries, in the order rules.Default lists them.
func queries() []string {
	return []string{detect.RuleQuery2023, detect.RuleQuery2026, detect.StdinShellRuleQuery}
}

// generate returns builtin_gen.go's content, gofmt'ed.
func generate() ([]byte, error) {
	src, err := eql.BuiltinSource(command, queries()...)
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
	out := flag.String("o", "builtin_gen.go", "file to write")
	flag.Parse()
	data, err := generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genbuiltin:", err)
		os.Exit(1)
	}
	if old, err := os.ReadFile(*out); err == nil && bytes.Equal(old, data) {
		return
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "genbuiltin:", err)
		os.Exit(1)
	}
}
