package main

import (
	"github.com/spf13/cobra"

	"github.com/execguard/execguard/detect/policy"
)

// defaultCommand prints the default policy: what execguard enforces when no
// policy is configured, and the documented example to start one from.
func (a *app) defaultCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "default",
		Short: "print the default policy, a documented example to start from",
		Args:  noArgs,
		RunE: a.action(func(*cobra.Command, []string) (int, error) {
			if _, err := a.stdout.Write(policy.DefaultYAML()); err != nil {
				return exitPolicy, err
			}
			return exitOK, nil
		}),
	}
}
