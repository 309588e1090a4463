// Command genbuiltin writes package eql's builtin_gen.go: execguard's built-in rules'
// queries compiled at build time, so the runtime wrapper, a fresh process on every exec,
// does not lex and parse them each time. Run it with go generate ./detect/eql (or make
// generate) whenever a built-in query changes; tests fail until then.
package main

import (
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/eql"
	"github.com/execguard/execguard/internal/gensource"
)

// command is what the generated file says produced it.
const command = "go generate ./detect/eql"

// queries are the built-in rules' queries, in the order rules.Default lists them.
func queries() []string {
	return []string{detect.RuleQuery2023, detect.RuleQuery2026, detect.StdinShellRuleQuery}
}

// generate returns builtin_gen.go's content, gofmt'ed.
func generate() ([]byte, error) {
	return gensource.Generate(func() ([]byte, error) { return eql.BuiltinSource(command, queries()...) })
}

func main() { gensource.Main("genbuiltin", "builtin_gen.go", generate) }
