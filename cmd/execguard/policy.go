package main

import (
	"flag"
	"fmt"
	"io"
)

const policyUsage = `usage: execguard policy <check|test|default> [arguments]
`

func runPolicy(args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		return exitUsage, usagef("policy: which command? check, test or default")
	}
	switch args[0] {
	case "check":
		return runCheck(args[1:], stdout, stderr)
	case "test":
		return runTest(args[1:], stdout, stderr)
	case "default":
		return runDefault(args[1:], stdout, stderr)
	case "compile":
		return runCompile(args[1:], stdin, stdout, stderr)
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, policyUsage)
		return exitOK, nil
	}
	return exitUsage, usagef("policy: unknown command %q", args[0])
}

// parseInterleaved parses flags that may come before or after the
// positional arguments (execguard policy test FILE --tty), which the flag
// package alone does not.
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
