// Command execguard is execguard's one command: the NRI plugin, installing
// execguard on a node and reporting its status, checking and trying
// policies, and reading the event log. Run "execguard help" for the tree;
// every command takes --help.
//
// The runtime wrapper (cmd/execguard-runtime) stays a separate, small
// binary: it runs on every runtime call.
//
// Exit status: 0 when all is well, 1 when a policy has errors or the node
// has a problem, 2 on a usage error; a command may document more.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
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

func main() {
	os.Exit(run(commandLine(os.Args, os.Getenv), os.Stdin, os.Stdout, os.Stderr))
}

// nriSocketEnv is how NRI's runtime side (containerd, CRI-O) hands a
// pre-registered plugin its connection: it starts the plugin file from its
// plugin directory (e.g. /opt/nri/plugins/10-execguard) with no arguments
// and this variable set (containerd/nri pkg/adaptation).
const nriSocketEnv = "NRI_PLUGIN_SOCKET"

// commandLine is the argument list to run: "nri run" when a runtime
// launched this binary as its pre-registered NRI plugin, "nri ..." when it
// is called by the plugin's former name (execguard-nri), the arguments as
// given otherwise.
func commandLine(argv []string, getenv func(string) string) []string {
	args := argv[1:]
	switch {
	case len(args) == 0 && getenv(nriSocketEnv) != "":
		return []string{"nri", "run"}
	case filepath.Base(argv[0]) == "execguard-nri" && (len(args) == 0 || args[0] != "nri"):
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			args = append([]string{"run"}, args...)
		}
		return append([]string{"nri"}, longFlags(args)...)
	}
	return args
}

// longFlags spells the single-dash long flags the former execguard-nri
// command took (-config FILE, -socket=PATH) with two dashes; the nri
// commands have no one-letter flags but -h, so nothing else is changed.
func longFlags(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			a = "-" + a
		}
		out[i] = a
	}
	return out
}

// app is one run of the command: its streams, and the exit status the
// command that ran chose.
type app struct {
	// ctx ends long-running commands (events -f, nri run) besides SIGINT
	// and SIGTERM; nil is context.Background().
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	code           int
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	return a.execute(a.rootCommand(), args)
}

// execute runs the command tree on args and returns the exit status.
func (a *app) execute(root *cobra.Command, args []string) int {
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	ctx := a.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	err := root.ExecuteContext(ctx)
	if err == nil {
		return a.code
	}
	fmt.Fprintf(a.stderr, "execguard: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(a.stderr, `run "execguard help" or "execguard <command> --help" for help`)
		return exitUsage
	}
	if a.code != exitOK {
		return a.code
	}
	return exitPolicy
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "execguard",
		Short: "detect and block interactive shells opened in running containers",
		Long: `execguard detects, and per policy blocks, interactive sessions opened in
running containers (kubectl exec -it, crictl exec -it, ctr task exec --tty,
podman exec -it, debug containers) at the container runtime: a wrapper in
front of runc/crun sees each call before the process starts, an NRI plugin
tells it about pods and containers. Events are ECS documents shaped like
Elastic Defend for Containers process events.`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.ArbitraryArgs,
		RunE:          a.group,
	}
	root.SetFlagErrorFunc(flagError)
	root.SetVersionTemplate("execguard {{.Version}}\n")
	root.AddCommand(
		a.installCommand(),
		a.uninstallCommand(),
		a.statusCommand(),
		a.policyCommand(),
		a.eventsCommand(),
		a.replayCommand(),
		a.rulesCommand(),
		a.nriCommand(),
		a.webhookCommand(),
		a.auditCommand(),
		a.versionCommand(),
	)
	return root
}

// group is the action of a command that only holds others: without a
// subcommand it prints its help and fails; an unknown one is a usage error.
func (a *app) group(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		cmd.SetOut(a.stdout)
		_ = cmd.Help()
		a.code = exitUsage
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return usageError{msg}
}

// flagError makes the flag parser's complaints usage errors (exit 2).
func flagError(cmd *cobra.Command, err error) error {
	return usageError{fmt.Sprintf("%s: %v", name(cmd), err)}
}

// action adapts a command body that chooses its exit status.
func (a *app) action(body func(cmd *cobra.Command, args []string) (int, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		code, err := body(cmd, args)
		a.code = code
		return err
	}
}

// runFunc is a command written against the standard flag package: it
// parses its own arguments, -h included, and chooses its exit status.
type runFunc func(args []string, stdout, stderr io.Writer) (int, error)

// flagCommand mounts a runFunc as a subcommand: cobra hands it the
// arguments untouched, e.g.
//
//	root.AddCommand(a.flagCommand("rules", "test detection rules on events", runRules))
func (a *app) flagCommand(use, short string, f runFunc) *cobra.Command {
	return &cobra.Command{
		Use:                use,
		Short:              short,
		DisableFlagParsing: true,
		RunE: a.action(func(_ *cobra.Command, args []string) (int, error) {
			return f(args, a.stdout, a.stderr)
		}),
	}
}

// exactArgs wants n positional arguments, named by what, as a usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s: want %s (got %d arguments)", name(cmd), what, len(args))
		}
		return nil
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments (got %q)", name(cmd), args[0])
	}
	return nil
}

// name is the command's path without the program's name, as error
// messages start with "execguard: ".
func name(cmd *cobra.Command) string {
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}
