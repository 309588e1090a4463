package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/execguard/execguard/install"
)

func (a *app) statusCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [flags]",
		Short: "runtime, NRI, plugin, coverage, policy and event log of this node",
		Long: `Shows how this node stands: each engine detected and which front each of
its handlers runs (execguard's containerd shim, the wrapper, or neither),
the shim binary's version and the containerd releases it was tested with,
NRI, the NRI plugin's connection and coverage (N of M running containers
run by the shim or carrying the wrapper's mark), the policy in force and
its revision, whether the event log can be written, and the last lines of
the wrapper's diagnostics file (its warnings for runtime calls the engine
gave no log file, such as CRI-O's execs). Exit status 1 when something is
wrong.`,
		Args: noArgs,
	}
	opts := nodeFlags(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	cmd.RunE = a.action(func(*cobra.Command, []string) (int, error) {
		st, err := install.GetStatus(*opts)
		if err != nil {
			return exitNode, err
		}
		if asJSON {
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(st); err != nil {
				return exitNode, err
			}
		} else {
			fmt.Fprint(a.stdout, st.Text())
		}
		if !st.OK() {
			return exitNode, nil
		}
		return exitOK, nil
	})
	return cmd
}
