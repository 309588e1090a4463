package eql

import (
	"reflect"
	"strings"
	"testing"
)

func TestBuiltin(t *testing.T) {
	if len(builtinQueries) == 0 {
		t.Fatal("no built-in queries: run go generate ./detect/eql (make generate)")
	}
	for _, want := range builtinQueries {
		if got, ok := Builtin(want.src); !ok || got != want {
			t.Errorf("Builtin(%q) = %p, %v; want %p", shorten(want.src), got, ok, want)
		}
	}
	src := builtinQueries[0].src
	for _, other := range []string{"", src + " ", strings.TrimSuffix(src, "e") + "E", `process where true`} {
		if q, ok := Builtin(other); ok || q != nil {
			t.Errorf("Builtin(%q) = %p, %v; want nil, false", shorten(other), q, ok)
		}
	}
}

// TestBuiltinComparison checks that comparing a precompiled query with reflect.DeepEqual, as
// the rules' tests do, sees a change to any part of it.
func TestBuiltinComparison(t *testing.T) {
	for _, pre := range builtinQueries {
		base, err := Compile(pre.src)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(base, pre) {
			t.Fatalf("%q: precompiled query differs from Compile's: run go generate ./detect/eql (make generate)", shorten(pre.src))
		}
		changes := []struct{ old, new string }{
			{"true", "false"},
			{"==", "!="},
			{`"start"`, `"stop"`},
			{" and ", " or "},
			{"event.type", "?event.type"},
			{"process.entry_leader", "process.session_leader"},
			{"process where", "any where"},
		}
		for _, c := range changes {
			variant := strings.Replace(pre.src, c.old, c.new, 1)
			if variant == pre.src {
				continue
			}
			q, err := Compile(variant)
			if err != nil {
				t.Fatalf("%q: %v", variant, err)
			}
			q.src = pre.src // only the compiled form may tell them apart
			if reflect.DeepEqual(q, pre) {
				t.Errorf("%q with %s changed to %s compares equal to the original", shorten(pre.src), c.old, c.new)
			}
		}
	}
}

func TestBuiltinSourceRefuses(t *testing.T) {
	tests := []struct {
		query string
		want  string
	}{
		{`process where process.name regex "ba.h"`, "regexNode"},
		{`process where startsWith(process.name, "ba")`, "boolNode"},
		{`process where length(process.name) > 3`, "orderNode"},
		{`process where process.pid > 3`, "orderNode"},
		{`process where true`, "constNode"},
		{`process where process.name : "sh" and cidrMatch(source.ip, "10.0.0.0/8")`, "boolNode"},
		{`process where process.name ==`, "compiling built-in query"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			out, err := BuiltinSource("test", tt.query)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("BuiltinSource: %v (%d bytes), want an error naming %s", err, len(out), tt.want)
			}
		})
	}
	if _, err := BuiltinSource("test", `process where not process.name in ("sh", null) or process.args_count == 2 and ?a.b : "x*"`); err != nil {
		t.Errorf("supported node kinds refused: %v", err)
	}
}
