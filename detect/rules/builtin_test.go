package rules

import (
	"reflect"
	"testing"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/eql"
)

// TestBuiltinQueriesPrecompiled holds the queries compiled at build time to what Compile makes
// of the queries now, and Default to using them.
func TestBuiltinQueriesPrecompiled(t *testing.T) {
	set, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		src  string
	}{
		{"seed rule 2023", detect.RuleQuery2023},
		{"seed rule 2026", detect.RuleQuery2026},
		{"stdin shell", detect.StdinShellRuleQuery},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pre, ok := eql.Builtin(tt.src)
			if !ok {
				t.Fatalf("no precompiled query for %q: run go generate ./detect/eql (make generate)", tt.src)
			}
			want, err := eql.Compile(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pre, want) {
				t.Fatalf("precompiled query differs from eql.Compile(%q): run go generate ./detect/eql (make generate)", tt.src)
			}
			if got := set.Rules[i].Query; got != pre {
				t.Errorf("Default's %s does not use the precompiled query", set.Rules[i].File)
			}
		})
	}
}
