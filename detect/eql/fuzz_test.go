package eql

import (
	"testing"
)

// FuzzCompile: the parser never panics or hangs, whatever the query, and a query it accepts
// can be matched against a document without panicking.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		rule2023, rule2026, rule2023Line, rule2026Line,
		`process where process.name : ("a*", "b?c") and not process.args in~ ("x", null)`,
		`any where ?process.parent.name != null or length(process.name) >= 3`,
		`process where startsWith~(process.name, "ba") and cidrMatch(source.ip, "10.0.0.0/8", "::1/128")`,
		`process where process.executable regex~ "/usr/(s?bin)/[a-z]+" and wildcard(process.name, "*sh")`,
		"`my cat` where `a-b`.c == \"\"\"raw\\\"\"\" /* c /* n */ */ // end",
		`sequence by host.id [process where true] [file where true] | head 1`,
		`process where "\u{1F600}" == "x" and -1.5e3 < 2`,
	} {
		f.Add(s)
	}
	doc := decode(f, execEvent)
	rich := decode(f, semanticsDoc)
	f.Fuzz(func(t *testing.T, query string) {
		q, err := Compile(query)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("Compile(%q) error %T, want *SyntaxError", query, err)
			}
			return
		}
		q.Match(doc)
		q.Match(rich)
		q.Match(map[string]any{})
	})
}
