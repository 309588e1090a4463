package main

import (
	"io"

	"github.com/execguard/execguard/detect/policy/policyfile"
)

// runCompile is the policy compiler helper of the runtime wrapper, which
// does not link a YAML parser (policy.HelperParser): it reads a policy from
// stdin and writes its compiled spec, or every problem in it as JSON. Not
// meant for people: use policy check.
func runCompile(args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("policy compile", "policy compile --name FILE < FILE", stderr)
	name := fs.String("name", "", "the policy file's name, for errors")
	if err := fs.Parse(args); err != nil {
		return flagResult(err)
	}
	if *name == "" || fs.NArg() > 0 {
		return exitUsage, usagef("policy compile: give --name and the policy on stdin")
	}
	return policyfile.ServeCompile(*name, stdin, stdout), nil
}
