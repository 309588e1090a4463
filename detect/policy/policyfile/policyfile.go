// Package policyfile reads execguard policies from their YAML files: Parse
// and Load for people and tools (the execguard command), ParseSpec as the
// in-process policy.Parser, and ServeCompile, the helper side of
// policy.HelperParser. It is apart from package policy because the YAML
// parser costs every process that links it about 0.15 ms of start-up, and
// the runtime wrapper starts once per runtime call.
package policyfile

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/execguard/execguard/detect/policy"
	"github.com/execguard/execguard/detect/policy/internal/spec"
	"github.com/execguard/execguard/detect/policy/internal/yamlspec"
)

// Parse reads and compiles a policy. file names it in errors. The error,
// when not nil, is a policy.Errors listing every problem found, each with
// file, line, column, key and hint.
func Parse(file string, data []byte) (*policy.Policy, error) {
	p, _, err := parse(file, data)
	return p, err
}

// Load reads and compiles the policy file at path.
func Load(path string) (*policy.Policy, error) {
	data, err := policy.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// ParseSpec is a policy.Parser that parses in this process.
func ParseSpec(file string, data []byte) (*spec.Spec, error) {
	_, s, err := parse(file, data)
	return s, err
}

func parse(file string, data []byte) (*policy.Policy, *spec.Spec, error) {
	s, readErrs := yamlspec.Read(file, data)
	if s == nil {
		return nil, nil, readErrs
	}
	p, err := policy.Compile(file, data, s)
	if readErrs == nil && err == nil {
		return p, s, nil
	}
	all := append(spec.Errors(nil), readErrs...)
	if es, ok := err.(policy.Errors); ok {
		all = append(all, es...)
	} else if err != nil {
		return nil, nil, err
	}
	return nil, nil, spec.Sort(all)
}

// ServeCompile answers one policy.HelperParser request: it parses the
// policy named name from in and writes the answer to out. It returns the
// exit status: 0 for a valid policy, 1 for an invalid one, 2 when the
// request could not be read or answered.
func ServeCompile(name string, in io.Reader, out io.Writer) int {
	data, err := io.ReadAll(io.LimitReader(in, policy.MaxFileSize+1))
	if err != nil {
		fmt.Fprintf(out, "%v\n", err)
		return 2
	}
	s, err := ParseSpec(name, data)
	if err != nil {
		es, ok := err.(policy.Errors)
		if !ok {
			es = policy.Errors{{File: name, Msg: err.Error()}}
		}
		if json.NewEncoder(out).Encode(es) != nil {
			return 2
		}
		return 1
	}
	if _, err := out.Write(policy.EncodeHelperAnswer(s)); err != nil {
		return 2
	}
	return 0
}
