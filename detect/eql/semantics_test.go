package eql

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// semanticsDoc holds the values the golden tables below are written against.
const semanticsDoc = `{
  "event": {"category": ["process"], "type": ["start"], "action": "exec"},
  "process": {
    "name": "Bash", "executable": "/usr/bin/bash", "args": ["bash", "-c", "curl http://x | sh"],
    "args_count": 3, "interactive": true, "pid": 4242,
    "parent": {"name": null}
  },
  "source": {"ip": "10.1.2.3"}, "client": {"ip": ["192.168.0.9", "2001:db8::1"]},
  "emoji": "a😀", "empty": "", "nothing": null, "plus": "a+b", "multi": "line\nbreak",
  "tags": ["Alpha", "beta"], "nums": [1, 50]
}`

// TestGoldenSemantics pins the exact meaning of each operator and function, most of all
// case sensitivity, wildcards, any-element matching on arrays, and missing or null fields.
func TestGoldenSemantics(t *testing.T) {
	tests := []struct {
		cond string
		want bool
	}{
		// == is exact and case-sensitive; : folds case and expands wildcards.
		{`process.name == "Bash"`, true},
		{`process.name == "bash"`, false},
		{`process.name : "bash"`, true},
		{`process.name : "BA*"`, true},
		{`process.name == "Ba*"`, false},
		{`process.name : ("zsh", "b?sh")`, true},
		{`process.name like "B*"`, true},
		{`process.name like "b*"`, false},
		{`process.name like~ "b*"`, true},

		{`empty like "?*"`, false},
		{`empty like "*"`, true},
		{`process.name like "?*"`, true},
		{`process.name like "*as*"`, true},
		{`process.name like "*AS*"`, false},
		{`process.name like~ "*AS*"`, true},
		{`process.name like "*sh"`, true},
		{`process.name like "Bash"`, true},
		{`process.name like "Bas"`, false},
		{`process.name : "*a?h"`, true},
		{`process.args regex~ ".*CURL.*"`, true},
		{`process.args regex ".*CURL.*"`, false},
		{`process.args regex ".*curl.*"`, true},

		// Any element of an array.
		{`process.args == "-c"`, true},
		{`process.args : "CURL*"`, true},
		{`process.args like "curl *| sh"`, true},
		{`process.args != "-c"`, false},
		{`process.args in ("-x", "-c")`, true},
		{`process.args not in ("-x", "-c")`, false},
		{`tags == "alpha"`, false},
		{`tags : "alpha"`, true},
		{`tags in~ ("ALPHA")`, true},
		{`nums > 10`, true},
		{`nums < 1`, false},

		// Missing and null fields.
		{`process.missing == null`, true},
		{`process.parent.name == null`, true},
		{`process.parent.name != null`, false},
		{`process.name != null`, true},
		{`process.missing != "x"`, true},
		{`process.missing : "*"`, false},
		{`process.missing like "*"`, false},
		{`process.missing regex ".*"`, false},
		{`process.missing in ("x")`, false},
		{`process.missing not in ("x")`, true},
		{`nothing == null`, true},
		{`empty == null`, false},
		{`empty : "*"`, true},

		// Optional fields behave as fields; missing is null.
		{`?process.name == "Bash"`, true},
		{`?process.nope == null`, true},
		{`?process.nope != null`, false},
		{`?process.nope : "*"`, false},

		// regex is anchored, case-sensitive; regex~ folds case.
		{`process.name regex "Ba.h"`, true},
		{`process.name regex "ba.h"`, false},
		{`process.name regex~ "ba.h"`, true},
		{`process.name regex "as"`, false},
		{`process.name regex ".*as.*"`, true},
		{`process.executable regex "/usr/(s?bin)/[a-z]+"`, true},
		{`process.executable regex "/usr/bin/\\w+"`, true},
		{`process.args regex ("nope", "curl .*")`, true},
		{`plus regex "a\\+b"`, true},
		{`plus regex "a+b"`, false},
		{`multi regex "line.break"`, true},
		{`process.pid regex "4242"`, false},
		{`multi regex ".*e.b.*"`, true},
		{`multi regex~ ".*E.B.*"`, true},
		{`multi regex ".*E.B.*"`, false},
		{`process.name regex ".*x|B.*"`, true},
		{`process.name regex ".*a|x.*"`, false},
		{`process.name regex ".*as.*h"`, true},

		// startsWith, endsWith, stringContains, wildcard: case-sensitive; ~ folds.
		{`startsWith(process.name, "Ba")`, true},
		{`startsWith(process.name, "ba")`, false},
		{`startsWith~(process.name, "ba")`, true},
		{`endsWith(process.executable, "/bash")`, true},
		{`endsWith~(process.executable, "/BASH")`, true},
		{`endsWith(process.executable, "/BASH")`, false},
		{`stringContains(process.executable, "bin")`, true},
		{`stringContains(process.executable, "BIN")`, false},
		{`stringContains~(process.executable, "BIN")`, true},
		{`stringContains(process.args, "http://")`, true},
		{`wildcard(process.name, "B*", "z*")`, true},
		{`wildcard(process.name, "b*")`, false},
		{`wildcard~(process.name, "b*")`, true},
		{`wildcard(process.args, "curl*")`, true},
		{`startsWith(process.missing, "a")`, false},
		{`not startsWith(process.missing, "a")`, true},
		{`startsWith(process.pid, "4")`, false},
		{`startsWith("regsvr32.exe", "regsvr")`, true},
		// A null argument makes the function null (Elastic's reference
		// shows startsWith("regsvr32.exe", null)); a field as the substring
		// is read from the document, null when missing.
		{`startsWith("regsvr32.exe", null)`, false},
		{`not startsWith("regsvr32.exe", null)`, true},
		{`startsWith(null, "a")`, false},
		{`stringContains(process.executable, process.args)`, true},
		{`endsWith(process.executable, process.name)`, false},
		{`endsWith~(process.executable, process.name)`, true},
		{`startsWith(process.name, process.missing)`, false},
		{`not startsWith(process.name, process.missing)`, true},
		{`startsWith(process.name, "Ba") == true`, true},
		{`startsWith(process.name, "x") == false`, true},

		// length: UTF-16 code units, first array value only, null for missing.
		{`length(process.name) == 4`, true},
		{`length(emoji) == 3`, true},
		{`length(empty) == 0`, true},
		{`length(process.args) == 4`, true},
		{`length(process.args) == 2`, false},
		{`length(process.missing) == null`, true},
		{`length(process.missing) > 0`, false},
		{`length(process.pid) > 0`, false},

		// cidrMatch: IPv4 and IPv6, any address of an array.
		{`cidrMatch(source.ip, "10.0.0.0/8")`, true},
		{`cidrMatch(source.ip, "192.168.0.0/16", "10.1.0.0/16")`, true},
		{`cidrMatch(source.ip, "192.168.0.0/16")`, false},
		{`cidrMatch(client.ip, "2001:db8::/32")`, true},
		{`cidrMatch(client.ip, "192.168.0.0/24")`, true},
		{`cidrMatch(process.name, "10.0.0.0/8")`, false},
		{`cidrMatch(process.missing, "10.0.0.0/8")`, false},
	}
	d := decode(t, semanticsDoc)
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			q := mustCompile(t, "process where "+tt.cond)
			if got := q.Match(d); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRefused: unsupported constructs are named, pathological queries bounded.
func TestRefused(t *testing.T) {
	deep := "process where " + strings.Repeat("(", MaxDepth+1) + "true" + strings.Repeat(")", MaxDepth+1)
	nots := "process where " + strings.Repeat("not ", MaxDepth+1) + "true"
	list := make([]string, MaxListLen+1)
	for i := range list {
		list[i] = fmt.Sprintf("%q", fmt.Sprint(i))
	}
	tests := []struct {
		query string
		msg   string
	}{
		{`sequence by host.id [process where true] [process where true]`, "sequence queries are not supported"},
		{`sample by host.id [process where true] [process where true]`, "sample queries are not supported"},
		{`join [process where true] [file where true]`, "join queries are not supported"},
		{"sequence by container.id with maxspan=3s\n  [process where a == 1]\n  [process where b == 2]", "sequence queries are not supported"},
		{"/* a comment */ sequence with maxspan=1s [process where true] [process where a = 1]", "sequence queries are not supported"},
		{`sample by host.id [process where a == 'x'] [process where true]`, "sample queries are not supported"},
		{`process where true | tail 3`, "pipes"},
		{`process where between(process.name, "a", "b") == "x"`, "function between is not supported"},
		{`process where substring(process.name, 1) == "x"`, "function substring is not supported"},
		{`process where frobnicate(process.name)`, "unknown function frobnicate"},
		{`process where length~(process.name) > 1`, "length has no case-insensitive ~ form"},
		{`process where cidrMatch~(source.ip, "10.0.0.0/8")`, "cidrMatch has no case-insensitive ~ form"},
		{`process where cidrMatch(source.ip, "10.0.0.0/33")`, "is not a CIDR block"},
		{`process where startsWith(process.name)`, "startsWith takes at least 2 arguments"},
		{`process where startsWith(process.name, "a", "b")`, "startsWith takes 2 arguments"},
		{`process where startsWith(process.name, length(process.name))`, "a function as argument 2 is not supported"},
		{`process where wildcard(process.name, process.executable)`, "a field or function as argument 2 is not supported"},
		{`process where stringContains(process.name, "a", "b")`, "stringContains takes 2 arguments"},
		{`process where startsWith(1, "a")`, "argument 1 must be a string, a field or null"},
		{`process where stringContains(true, "a")`, "argument 1 must be a string, a field or null"},
		{`process where wildcard(process.name, null)`, "argument 2 must be a string"},
		{`process where startsWith(process.name, 1)`, "argument 2 must be a string"},
		{`process where length(process.name)`, "expected a comparison after length(...)"},
		{`process where length(process.name, "x") > 1`, "length takes 1 argument"},
		{`process where process.name == process.executable`, "comparisons against fields are not supported"},
		{`process where process.name~ == "x"`, "only operators and functions have a case-insensitive ~ form"},
		{`process where ? == "x"`, "expected a field name after '?'"},
		{`process where a regex "^abc"`, "literal character in Lucene"},
		{`process where a regex "abc$"`, "literal character in Lucene"},
		{`process where a regex "a@b"`, "Lucene operator"},
		{`process where a regex "a<1-5>"`, "Lucene operator"},
		{`process where a regex "(?i)abc"`, "(? groups and flags are not Lucene syntax"},
		{`process where a regex "\\bword"`, `escape \b is not supported`},
		{`process where a regex "a(b"`, "missing closing )"},
		{`process where a regex "[abc"`, "unterminated character class"},
		{`process where a regex~ "a{1001}"`, "invalid repeat count: `{1001}`"},
		{`process where a regex "` + strings.Repeat("(", 1001) + strings.Repeat(")", 1001) + `"`, "expression nests too deeply"},
		{`process where a regex "(a{1000}){1000}"`, "invalid repeat count"},
		{deep, fmt.Sprintf("nested more than %d levels deep", MaxDepth)},
		{nots, fmt.Sprintf("nested more than %d levels deep", MaxDepth)},
		{`process where a in (` + strings.Join(list, ",") + `)`, fmt.Sprintf("list of more than %d values", MaxListLen)},
		{`process where a : (` + strings.Join(list, ",") + `)`, fmt.Sprintf("list of more than %d patterns", MaxListLen)},
		{`process where a like "` + strings.Repeat("*a", MaxPatternBytes) + `"`, "longer than"},
		{`process where a == "` + strings.Repeat("x", MaxQueryBytes) + `"`, "longer than"},
	}
	for _, tt := range tests {
		name := tt.query
		if len(name) > 80 {
			name = name[:80]
		}
		t.Run(name, func(t *testing.T) {
			_, err := Compile(tt.query)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile error = %v, want a *SyntaxError containing %q", err, tt.msg)
			}
			if !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("error %q, want it to contain %q", err, tt.msg)
			}
			if multi := strings.Contains(tt.msg, "queries are not supported"); multi && !se.Unsupported {
				t.Errorf("error %q is not marked Unsupported", err)
			}
		})
	}
}

// The worst patterns for a backtracking matcher finish, bounded by the input's size.
func TestPathologicalPatterns(t *testing.T) {
	long := strings.Repeat("a", 4096)
	doc := map[string]any{"event": map[string]any{"category": "process"}, "v": long}
	for _, q := range []string{
		`process where v like "` + strings.Repeat("*a", 200) + `*b"`,
		`process where v : "` + strings.Repeat("a*", 200) + `b"`,
		`process where v regex "(a+)+b"`,
		`process where v regex "(a|aa)*b"`,
		`process where v regex "(a*)*b"`,
	} {
		if mustCompile(t, q).Match(doc) {
			t.Errorf("%.60s... matched %d a's without a b", q, len(long))
		}
	}
}

func TestFields(t *testing.T) {
	q := mustCompile(t, `process where process.name == "a" and (?process.parent.name : "b" or startsWith(process.name, "c")) and length(`+"`my-field`"+`) > 1`)
	want := []Field{{"process.name", false}, {"process.parent.name", true}, {"my-field", false}}
	got := q.Fields()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Fields() = %v, want %v", got, want)
	}
	if q.Category() != "process" || mustCompile(t, "any where true").Category() != "" {
		t.Errorf("Category() wrong")
	}
}
