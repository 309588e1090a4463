package policy

import (
	"os/exec"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/execguard/execguard/detect/policy/internal/spec"
	"github.com/execguard/execguard/detect/policy/internal/yamlspec"
)

// Every condition the YAML reader accepts has a meaning here, and no other.
func TestConditionsAgree(t *testing.T) {
	var keys []string
	for k := range spec.Conditions() {
		keys = append(keys, k)
		if _, ok := condition(k); !ok {
			t.Errorf("condition %q is read but has no meaning", k)
		}
	}
	sort.Strings(keys)
	if len(keys) != int(cKubeGroup)+1 {
		t.Errorf("%d conditions read (%v), %d known", len(keys), keys, int(cKubeGroup)+1)
	}
}

// defaultSpec, which Default is compiled from, must say what default.yaml says.
func TestDefaultSpecIsDefaultYAML(t *testing.T) {
	s, errs := yamlspec.Read("default.yaml", defaultYAML)
	if errs != nil {
		t.Fatal(errs)
	}
	if !reflect.DeepEqual(withoutPositions(s), withoutPositions(defaultSpec())) {
		t.Errorf("default.yaml and defaultSpec differ:\nyaml %+v\ngo   %+v", withoutPositions(s), withoutPositions(defaultSpec()))
	}
}

func withoutPositions(s *spec.Spec) *spec.Spec {
	out := &spec.Spec{Notes: s.Notes}
	strip := func(vs []spec.Value) []spec.Value {
		var o []spec.Value
		for _, v := range vs {
			o = append(o, spec.Value{S: v.S})
		}
		return o
	}
	for _, sel := range s.Selectors {
		ns := spec.Selector{Name: sel.Name, Index: sel.Index}
		for _, c := range sel.Conds {
			ns.Conds = append(ns.Conds, spec.Cond{Key: c.Key, Values: strip(c.Values), Flag: c.Flag, Bad: c.Bad})
		}
		out.Selectors = append(out.Selectors, ns)
	}
	for _, r := range s.Responses {
		out.Responses = append(out.Responses, spec.Response{Index: r.Index, Match: strip(r.Match), Exclude: strip(r.Exclude), Actions: strip(r.Actions)})
	}
	return out
}

// The runtime wrapper links this package on every runtime call: it must
// not bring the YAML parser (nor crypto) with it. (regexp may come with
// package detect, whose argument redaction needs it: its package init
// costs about 0.07 ms, GODEBUG=inittrace=1.)
func TestNoYAMLInCore(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/execguard/execguard/detect") || !slices.Contains(deps, "os") {
		t.Fatalf("go list -deps gave an unexpected list:\n%s", out)
	}
	for _, dep := range deps {
		if strings.Contains(dep, "yaml") || strings.HasPrefix(dep, "crypto") {
			t.Errorf("package policy depends on %s", dep)
		}
	}
}

func TestDefaultRevision(t *testing.T) {
	if got := revisionOf(defaultYAML); got != defaultRevision {
		t.Errorf("default.yaml's revision is %s; set defaultRevision to it", got)
	}
}

// TestDefaultPolicyCompiled holds the written-out default policy to the
// compiled default.yaml spec.
func TestDefaultPolicyCompiled(t *testing.T) {
	want, errs := compileDefault()
	if errs != nil {
		t.Fatalf("the default spec does not compile: %v", errs)
	}
	if got := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("defaultPolicy differs from the compiled default spec:\n got  %#v\n want %#v", *got, *want)
	}
}

// compileDefault is what defaultPolicy stands for.
func compileDefault() (*Policy, Errors) {
	p, errs := compile("default.yaml", defaultSpec())
	if p != nil {
		p.revision = defaultRevision
	}
	return p, errs
}

// defaultSpec is default.yaml written out in Go (TestDefaultSpecIsDefaultYAML
// holds the two to each other), compiled by compileDefault.
func defaultSpec() *spec.Spec {
	v := func(s ...string) []spec.Value {
		out := make([]spec.Value, len(s))
		for i := range s {
			out[i].S = s[i]
		}
		return out
	}
	ops := spec.Cond{Key: "operation", Values: v("exec", "containerStart")}
	return &spec.Spec{
		Selectors: []spec.Selector{
			{Name: "allProcesses", Index: 0, Conds: []spec.Cond{ops}},
			{Name: "interactiveProcesses", Index: 1, Conds: []spec.Cond{ops, {Key: "sessionLeaderInteractive", Flag: true}}},
			{Name: "stdinShells", Index: 2, Conds: []spec.Cond{ops, {Key: "stdinShell", Flag: true}}},
		},
		Responses: []spec.Response{
			{Index: 0, Match: v("allProcesses"), Actions: v("log")},
			{Index: 1, Match: v("interactiveProcesses"), Actions: v("alert")},
			{Index: 2, Match: v("stdinShells"), Actions: v("alert")},
		},
	}
}
