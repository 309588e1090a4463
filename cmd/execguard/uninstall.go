package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/execguard/execguard/install"
)

func (a *app) uninstallCommand() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "uninstall [flags]",
		Short: "restore what install changed",
		Long: `Puts back what execguard install changed, from its manifest: every file
install wrote gets its previous content again, or goes when there was none.
The wrapper stays while containers created through it still run (their
shims keep calling it); run uninstall again once they are gone, or --force.`,
		Args: noArgs,
	}
	opts := nodeFlags(cmd.Flags())
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the exact diff and write nothing")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "restore files changed since install and remove a wrapper still in use")
	cmd.RunE = a.action(func(*cobra.Command, []string) (int, error) {
		res, err := install.Uninstall(*opts, dryRun)
		if res != nil {
			fmt.Fprint(a.stdout, res.Report(dryRun))
		}
		if err != nil {
			return exitNode, err
		}
		return exitOK, nil
	})
	return cmd
}
