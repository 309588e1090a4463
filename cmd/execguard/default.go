package main

import (
	"io"

	"github.com/execguard/execguard/detect/policy"
)

// runDefault prints the default policy: what execguard enforces when no
// policy is configured, and the documented example to start one from.
func runDefault(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("policy default", "policy default", stderr)
	if err := fs.Parse(args); err != nil {
		return flagResult(err)
	}
	if fs.NArg() > 0 {
		return exitUsage, usagef("policy default takes no arguments")
	}
	if _, err := stdout.Write(policy.DefaultYAML()); err != nil {
		return exitPolicy, err
	}
	return exitOK, nil
}
