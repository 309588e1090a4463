package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func (a *app) policyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "check policies and try them on sample exec calls",
		Long: `A policy (Elastic Defend for Containers' process selectors and responses,
YAML) says which execs and container starts are logged, alerted on or
blocked. See docs/policy.md.`,
		Args: cobra.ArbitraryArgs,
		RunE: a.group,
	}
	cmd.AddCommand(a.checkCommand(), a.testCommand(), a.defaultCommand(), a.compileCommand())
	return cmd
}

// The helpers below serve commands written against the standard flag
// package (mounted with flagCommand).

// parseInterleaved parses flags that may come before or after the
// positional arguments (cmd FILE --flag), which the flag package alone does
// not.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// newFlagSet makes a flag set whose errors are usage errors: -h prints the
// help and exits 0, anything else exits 2.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: execguard %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// flagResult turns the flag package's error into an exit status.
func flagResult(err error) (int, error) {
	if err == flag.ErrHelp {
		return exitOK, nil
	}
	return exitUsage, usageError{err.Error()}
}
