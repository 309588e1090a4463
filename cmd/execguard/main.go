// Command execguard is execguard's command-line tool for people: it installs
// execguard on a node, reports its status, checks policies and tries them on
// sample exec calls.
//
//	execguard install [flags]
//	execguard uninstall [flags]
//	execguard status [flags]
//	execguard policy check FILE...
//	execguard policy test FILE [--event FILE.json] [--namespace NS --pod POD --tty ...]
//	execguard policy default
//
// Exit status: 0 when all is well, 1 when a policy has errors, 2 on a usage
// error.
package main

import (
	"fmt"
	"io"
	"os"
)

const (
	exitOK     = 0
	exitPolicy = 1
	exitUsage  = 2
)

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `usage: execguard <command> [arguments]

commands:
  install                 put the wrapper in front of containerd's and CRI-O's runtimes, register the NRI plugin
  uninstall               restore what install changed
  status                  runtime, NRI, plugin, coverage, policy and event log of this node
  policy check FILE...    check policy files: every error, with file, line and column
  policy test FILE [...]  show what a policy does with an exec (execguard policy test -h)
  policy default          print the default policy, a documented example to start from

Run "execguard <command> -h" or "execguard policy <command> -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	var code int
	var err error
	switch args[0] {
	case "policy":
		code, err = runPolicy(args[1:], stdin, stdout, stderr)
	case "install":
		code, err = runInstall(args[1:], stdout, stderr)
	case "uninstall":
		code, err = runUninstall(args[1:], stdout, stderr)
	case "status":
		code, err = runStatus(args[1:], stdout, stderr)
	case "rules":
		code, err = runRules(args[1:], stdout, stderr)
	default:
		err = usagef("unknown command %q", args[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "execguard: %v\n", err)
		if _, ok := err.(usageError); ok {
			fmt.Fprintln(stderr, `run "execguard -h" or "execguard policy <command> -h" for help`)
			return exitUsage
		}
		return exitPolicy
	}
	return code
}

func isHelp(s string) bool { return s == "-h" || s == "-help" || s == "--help" || s == "help" }
