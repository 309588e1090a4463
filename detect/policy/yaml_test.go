package policy

import (
	"github.com/execguard/execguard/detect/policy/internal/spec"
	"github.com/execguard/execguard/detect/policy/internal/yamlspec"
)

// The tests of this package write policies in YAML. They cannot import
// package policyfile (it imports this one), so these helpers do what it
// does: read with yamlspec, compile here, report every problem.

func parseSpecYAML(file string, data []byte) (*spec.Spec, error) {
	s, readErrs := yamlspec.Read(file, data)
	if s == nil {
		return nil, readErrs
	}
	_, errs := compile(file, s)
	if readErrs == nil && errs == nil {
		return s, nil
	}
	return nil, spec.Sort(append(append(spec.Errors(nil), readErrs...), errs...))
}

func parseYAML(file string, data []byte) (*Policy, error) {
	s, err := parseSpecYAML(file, data)
	if err != nil {
		return nil, err
	}
	return Compile(file, data, s)
}

func loadYAML(path string) (*Policy, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseYAML(path, data)
}
