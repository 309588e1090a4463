package eql

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// The two versions of Elastic's rule 420e5bb4-93bf-40a3-8f4a-4cc1af90eca1
// (rules/integrations/cloud_defend/execution_interactive_exec_to_container.toml in
// elastic/detection-rules), verbatim, comments and trailing spaces included.
const (
	rule2023 = `process where container.id : "*" and event.type== "start" and 

/* use of kubectl exec to enter a container */
process.entry_leader.entry_meta.type : "container" and 

/* process is the inital process run in a container */
process.entry_leader.same_as_process== true and

/* interactive process */
process.interactive == true
`
	rule2026 = `process where host.os.type == "linux" and event.type == "start" and event.action == "exec" and
process.name in ("bash", "dash", "sh", "tcsh", "csh", "zsh", "ksh", "fish", "busybox") and
process.entry_leader.entry_meta.type == "container" and

/* process is the initial process run in a container */
process.entry_leader.same_as_process == true and
container.id like "*"
`
	// The same queries on one line, as quoted in execguard's design notes.
	rule2023Line = `process where container.id : "*" and event.type== "start" and process.entry_leader.entry_meta.type : "container" and process.entry_leader.same_as_process== true and process.interactive == true`
	rule2026Line = `process where host.os.type == "linux" and event.type == "start" and event.action == "exec" and process.name in ("bash","dash","sh","tcsh","csh","zsh","ksh","fish","busybox") and process.entry_leader.entry_meta.type == "container" and process.entry_leader.same_as_process == true and container.id like "*"`
)

// execEvent is an interactive `sh` exec into a container, shaped like an execguard event line.
const execEvent = `{
  "@timestamp": "2025-06-01T12:00:00.000Z",
  "event": {"kind": "event", "category": ["process"], "type": ["start"], "action": "exec", "outcome": "success"},
  "process": {
    "name": "sh", "args": ["sh"], "interactive": true,
    "entry_leader": {"entry_meta": {"type": "container"}, "same_as_process": true}
  },
  "container": {"id": "3f1c0ffee0ddba11", "name": "web"},
  "host": {"os": {"type": "linux"}}
}`

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("decoding test document: %v", err)
	}
	return doc
}

// set puts v at a dotted path, creating nested objects as needed.
func set(doc map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := doc[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			doc[p] = next
		}
		doc = next
	}
	doc[parts[len(parts)-1]] = v
}

func del(doc map[string]any, path string) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		doc = doc[p].(map[string]any)
	}
	delete(doc, parts[len(parts)-1])
}

func mustCompile(t testing.TB, q string) *Query {
	t.Helper()
	c, err := Compile(q)
	if err != nil {
		t.Fatalf("Compile(%q): %v", q, err)
	}
	return c
}

func TestDetectionRules(t *testing.T) {
	rules := []struct {
		name string
		text string
		is26 bool
	}{
		{"2023", rule2023, false},
		{"2023-one-line", rule2023Line, false},
		{"2026", rule2026, true},
		{"2026-one-line", rule2026Line, true},
	}
	tests := []struct {
		name           string
		edit           func(doc map[string]any)
		want23, want26 bool
	}{
		{"interactive shell exec", func(map[string]any) {}, true, true},
		{"not interactive", func(d map[string]any) { set(d, "process.interactive", false) }, false, true},
		{"interactive missing", func(d map[string]any) { del(d, "process.interactive") }, false, true},
		{"interactive as string", func(d map[string]any) { set(d, "process.interactive", "true") }, false, true},
		{"not the entry leader", func(d map[string]any) { set(d, "process.entry_leader.same_as_process", false) }, false, false},
		{"same_as_process as string", func(d map[string]any) { set(d, "process.entry_leader.same_as_process", "true") }, false, false},
		{"refused exec", func(d map[string]any) { set(d, "event.type", []any{"denied"}) }, false, false},
		{"event.type among others", func(d map[string]any) { set(d, "event.type", []any{"info", "start"}) }, true, true},
		{"event.type scalar", func(d map[string]any) { set(d, "event.type", "start") }, true, true},
		{"event.type START", func(d map[string]any) { set(d, "event.type", []any{"START"}) }, false, false},
		{"no container.id", func(d map[string]any) { del(d, "container.id") }, false, false},
		{"container.id null", func(d map[string]any) { set(d, "container.id", nil) }, false, false},
		{"container.id empty", func(d map[string]any) { set(d, "container.id", "") }, true, true},
		{"process.name id", func(d map[string]any) { set(d, "process.name", "id") }, true, false},
		{"process.name BASH", func(d map[string]any) { set(d, "process.name", "BASH") }, true, false},
		{"process.name busybox", func(d map[string]any) { set(d, "process.name", "busybox") }, true, true},
		{"category network", func(d map[string]any) { set(d, "event.category", []any{"network"}) }, false, false},
		{"category process among others", func(d map[string]any) { set(d, "event.category", []any{"session", "process"}) }, true, true},
		{"category missing", func(d map[string]any) { del(d, "event.category") }, false, false},
		{"category Process", func(d map[string]any) { set(d, "event.category", []any{"Process"}) }, false, false},
		{"entry_meta.type CONTAINER", func(d map[string]any) { set(d, "process.entry_leader.entry_meta.type", "CONTAINER") }, true, false},
		{"entry_meta.type container-ish", func(d map[string]any) { set(d, "process.entry_leader.entry_meta.type", "containerd") }, false, false},
		{"no entry leader", func(d map[string]any) { del(d, "process.entry_leader") }, false, false},
		{"windows host", func(d map[string]any) { set(d, "host.os.type", "windows") }, true, false},
		{"container start", func(d map[string]any) { set(d, "event.action", "container-start") }, true, false},
		{"no host", func(d map[string]any) { del(d, "host") }, true, false},
	}
	for _, r := range rules {
		q := mustCompile(t, r.text)
		for _, tt := range tests {
			t.Run(r.name+"/"+tt.name, func(t *testing.T) {
				doc := decode(t, execEvent)
				tt.edit(doc)
				want := tt.want23
				if r.is26 {
					want = tt.want26
				}
				if got := q.Match(doc); got != want {
					t.Errorf("Match = %v, want %v", got, want)
				}
			})
		}
	}
}

// Flattened keys, as some shippers write them, resolve like nested objects.
func TestFlattenedKeys(t *testing.T) {
	flat := decode(t, `{
	  "event.category": ["process"], "event.type": ["start"], "event.action": "exec",
	  "process.name": "bash", "process.interactive": true,
	  "process.entry_leader.entry_meta.type": "container",
	  "process": {"entry_leader.same_as_process": true},
	  "container.id": "abc", "host": {"os.type": "linux"}
	}`)
	for _, q := range []string{rule2023, rule2026} {
		if !mustCompile(t, q).Match(flat) {
			t.Errorf("flattened document does not match %q", q)
		}
	}
	set(flat, "process", map[string]any{"entry_leader.same_as_process": false})
	for _, q := range []string{rule2023, rule2026} {
		if mustCompile(t, q).Match(flat) {
			t.Errorf("flattened document with same_as_process false matches %q", q)
		}
	}
}

func TestOperators(t *testing.T) {
	doc := `{
	  "name": "Document", "empty": "", "star": "a*b", "accent": "é", "quote": "say \"hi\"",
	  "path": "C:\\Windows\\cmd.exe", "nothing": null,
	  "pid": 42, "ratio": 0.5, "neg": -3, "yes": true, "no": false, "yes_str": "true", "num_str": "42",
	  "tags": ["alpha", "Beta"], "nums": [1, 2, 3], "nested": [{"k": "x"}, {"k": "y"}],
	  "my-field": "dash", "obj": {"a": 1}
	}`
	tests := []struct {
		cond string
		want bool
	}{
		// == and != are exact, case-sensitive and do not expand wildcards.
		{`name == "Document"`, true},
		{`name == "document"`, false},
		{`name == "Doc*"`, false},
		{`star == "a*b"`, true},
		{`name != "document"`, true},
		{`name != "Document"`, false},
		{`missing != "x"`, true},
		{`missing == "x"`, false},
		{`missing == null`, true},
		{`nothing == null`, true},
		{`missing != null`, false},
		{`name != null`, true},
		{`name == null`, false},
		{`tags == "Beta"`, true},
		{`tags != "Beta"`, false},
		{`tags != "gamma"`, true},

		// Types: no coercion between strings, numbers and booleans.
		{`yes == true`, true},
		{`yes == false`, false},
		{`no == false`, true},
		{`yes_str == true`, false},
		{`yes == "true"`, false},
		{`pid == 42`, true},
		{`pid == 42.0`, true},
		{`pid == 4.2e1`, true},
		{`pid == "42"`, false},
		{`num_str == 42`, false},
		{`ratio == 0.5`, true},
		{`neg == -3`, true},
		{`neg == 3`, false},
		{`nums == 2`, true},
		{`pid > 41 and pid >= 42 and pid <= 42 and pid < 43`, true},
		{`pid > 42`, false},
		{`neg < 0`, true},
		{`nums > 2`, true},
		{`name > "Cat" and name < "Dog"`, true},
		{`name < 100`, false},
		{`missing < 100`, false},

		// : folds case and expands * and ?.
		{`name : "document"`, true},
		{`name : "DOC*"`, true},
		{`name : "doc?"`, false},
		{`name : "d?cument"`, true},
		{`name : "*ume*"`, true},
		{`name : "*"`, true},
		{`name : "d*c*t"`, true},
		{`name : "d*x*t"`, false},
		{`name : "?????????"`, false},
		{`name : "????????"`, true},
		{`empty : "*"`, true},
		{`empty : "?"`, false},
		{`missing : "*"`, false},
		{`nothing : "*"`, false},
		{`pid : "*"`, false},
		{`yes : "*"`, false},
		{`accent : "?"`, true},
		{`accent : "É"`, true},
		{`star : "a*b"`, true},
		{`name : ("x", "doc*")`, true},
		{`name : ("x", "y")`, false},
		{`tags : "beta"`, true},
		{`nested.k : "Y"`, true},
		{`nested.k == "z"`, false},

		// like is case-sensitive, like~ is not.
		{`name like "Doc*"`, true},
		{`name like "doc*"`, false},
		{`name like~ "doc*"`, true},
		{`name like ("x*", "D?c*")`, true},
		{`name like~ ("X*", "*MENT")`, true},
		{`path like "C:\\Windows\\*.exe"`, true},
		{`path like """C:\Windows\*.exe"""`, true},
		{`path like """c:\windows\*"""`, false},

		// in is case-sensitive, in~ is not; not in negates.
		{`name in ("x", "Document")`, true},
		{`name in ("x", "document")`, false},
		{`name in~ ("x", "document")`, true},
		{`name in ("Doc*")`, false},
		{`name not in ("x", "y")`, true},
		{`name not in ("Document")`, false},
		{`name not in~ ("DOCUMENT")`, false},
		{`missing not in ("x")`, true},
		{`missing in ("x")`, false},
		{`missing in ("x", null)`, true},
		{`pid in (1, 42)`, true},
		{`pid in ("42")`, false},
		{`tags in ("beta")`, false},
		{`tags in~ ("beta")`, true},

		// Strings, escapes and field names.
		{`quote == "say \"hi\""`, true},
		{`accent == "\u{e9}"`, true},
		{`accent == "\u{000000E9}"`, true},
		{"`my-field` == \"dash\"", true},
		{"`obj`.a == 1", true},
		{`obj == null`, true}, // an object is not a value
		{`obj.a.b == 1`, false},

		// Logic: not binds tighter than and, and tighter than or.
		{`true`, true},
		{`false`, false},
		{`not true or true`, true},
		{`not (true or true)`, false},
		{`true or false and false`, true},
		{`(true or false) and false`, false},
		{`not not name == "Document"`, true},
		{`not name == "x" and pid == 42`, true},
		{"pid == 42 // trailing comment", true},
		{"/* a /* nested */ comment */ pid == 42", true},
	}
	d := decode(t, doc)
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			q := mustCompile(t, "any where "+tt.cond)
			if got := q.Match(d); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCategory(t *testing.T) {
	tests := []struct {
		query string
		doc   string
		want  bool
	}{
		{`process where true`, `{"event": {"category": ["process"]}}`, true},
		{`process where true`, `{"event": {"category": "process"}}`, true},
		{`process where true`, `{"event": {"category": ["file"]}}`, false},
		{`process where true`, `{}`, false},
		{`any where true`, `{}`, true},
		{`"my-category" where true`, `{"event": {"category": ["my-category"]}}`, true},
		{`"""my.category""" where true`, `{"event": {"category": ["my.category"]}}`, true},
		{"`my category` where true", `{"event": {"category": ["my category"]}}`, true},
		{`file where false`, `{"event": {"category": ["file"]}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.query+" "+tt.doc, func(t *testing.T) {
			if got := mustCompile(t, tt.query).Match(decode(t, tt.doc)); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"**", "abc", true},
		{"?", "", false},
		{"a*", "a", true},
		{"*a", "ba", true},
		{"*a", "ab", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"*ab", "aab", true},
		{"*aab", "aaab", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"??", "日本", true},
		{"a*", "*", false},
		{"a\\*", "a\\xyz", true}, // no escape syntax: backslash is literal
	}
	for _, tt := range tests {
		if got := wildcardMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		query     string
		line, col int
		msg       string
	}{
		{``, 1, 1, "expected an event category or 'any', found end of query"},
		{`process`, 1, 8, "expected 'where' after the event category, found end of query"},
		{`process when true`, 1, 9, "expected 'where' after the event category, found 'when'"},
		{`where true`, 1, 1, "expected an event category"},
		{`process where`, 1, 14, "expected a condition"},
		{`process where and`, 1, 15, "expected a condition"},
		{`process where a == 1 and`, 1, 25, "expected a condition"},
		{`process where a == 1 b == 2`, 1, 22, "expected 'and', 'or' or end of query, found 'b'"},
		{`process where (a == 1`, 1, 22, "expected ')', found end of query"},
		{`process where a`, 1, 16, "expected an operator (==, !=, :, like, like~, regex, regex~, in, in~, <, >) after field a, found end of query"},
		{`process where a.b.`, 1, 19, "expected a field name after '.'"},
		{`process where a = "x"`, 1, 17, "'=' is not an operator"},
		{`process where a == `, 1, 20, "expected a value"},
		{`process where a == b`, 1, 20, "expected a value (string, number, true, false or null), found 'b'"},
		{`process where a == 'x'`, 1, 20, "single-quoted strings are not supported"},
		{`process where a == "x`, 1, 20, "unterminated string"},
		{`process where a == """x`, 1, 20, "unterminated raw string"},
		{`process where a == "\q"`, 1, 21, `unknown escape sequence '\q'`},
		{`process where a == "\u{zz}"`, 1, 21, "bad unicode escape"},
		{`process where a : true`, 1, 19, "':' needs a string pattern, found 'true'"},
		{`process where a like 1`, 1, 22, "'like' needs a string pattern"},
		{`process where a like~ ("x", 2)`, 1, 29, "'like~' needs a string pattern"},
		{`process where a in "x"`, 1, 20, "expected '(', found '\"x\"'"},
		{`process where a in ("x",)`, 1, 25, "expected a value"},
		{`process where a in ("x"`, 1, 24, "expected ')'"},
		{`process where a not like "x"`, 1, 21, "expected 'in' or 'in~' after 'not'"},
		{`process where a < true`, 1, 19, "'<' compares only with a string or a number, found 'true'"},
		{`process where a == 1 | head 1`, 1, 22, "pipes (| head, | tail, | filter, ...) are not supported"},
		{`sequence [process where true] [file where true]`, 1, 1, "sequence queries are not supported"},
		{`process where /* open`, 1, 15, "unterminated comment"},
		{"process where\n  a == 1 and\n  b === 2", 3, 7, "'=' is not an operator"},
		{"process where\n  /* é */ a ==\n", 3, 1, "expected a value (string, number, true, false or null), found end of query"},
		{"process where `a == 1", 1, 15, "unterminated escaped field name"},
		{`process where a : "é" or b = 1`, 1, 28, "'=' is not an operator"}, // columns count characters, not bytes
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := Compile(tt.query)
			if err == nil {
				t.Fatalf("Compile succeeded, want error %q (query %v)", tt.msg, q)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is %T, want *SyntaxError", err, err)
			}
			if se.Line != tt.line || se.Column != tt.col || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("got line %d, column %d, %q; want line %d, column %d, containing %q",
					se.Line, se.Column, se.Msg, tt.line, tt.col, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "eql: line ") {
				t.Errorf("Error() = %q, want it to start with the position", err.Error())
			}
		})
	}
}

func TestString(t *testing.T) {
	if got := mustCompile(t, rule2023).String(); got != rule2023 {
		t.Errorf("String() = %q, want the source text", got)
	}
}
