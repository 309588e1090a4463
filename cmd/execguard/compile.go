package main

import (
	"github.com/spf13/cobra"

	"github.com/execguard/execguard/detect/policy/policyfile"
)

// compileCommand is the policy compiler helper of the runtime wrapper,
// which does not link a YAML parser (policy.HelperParser runs "execguard
// policy compile --name FILE" with the policy on stdin): it writes the
// compiled spec, or every problem in it as JSON. Not meant for people: use
// policy check.
func (a *app) compileCommand() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:    "compile --name FILE < FILE",
		Short:  "compile a policy for the runtime wrapper (its helper; use check)",
		Hidden: true,
		Args:   noArgs,
		RunE: a.action(func(*cobra.Command, []string) (int, error) {
			if name == "" {
				return exitUsage, usagef("policy compile: give --name and the policy on stdin")
			}
			return policyfile.ServeCompile(name, a.stdin, a.stdout), nil
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the policy file's name, for errors")
	return cmd
}
