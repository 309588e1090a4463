package main

import (
	"fmt"
	"io"

	"github.com/execguard/execguard/install"
)

const uninstallSynopsis = `uninstall [flags]

Puts back what execguard install changed, from its manifest: every file
install wrote gets its previous content again, or goes when there was none.
The wrapper stays while containers created through it still run (their
shims keep calling it); run uninstall again once they are gone, or --force.`

func runUninstall(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("uninstall", uninstallSynopsis, stderr)
	opts := nodeFlags(fs)
	dryRun := fs.Bool("dry-run", false, "print the exact diff and write nothing")
	fs.BoolVar(&opts.Force, "force", false, "restore files changed since install and remove a wrapper still in use")
	if err := fs.Parse(args); err != nil {
		return flagResult(err)
	}
	if fs.NArg() > 0 {
		return exitUsage, usagef("uninstall takes no arguments")
	}
	res, err := install.Uninstall(*opts, *dryRun)
	if res != nil {
		fmt.Fprint(stdout, res.Report(*dryRun))
	}
	if err != nil {
		return exitNode, err
	}
	return exitOK, nil
}
