package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/eventview"
)

// followPoll is how often events -f looks for new lines.
const followPoll = 250 * time.Millisecond

// eventsOptions are the events command's flags.
type eventsOptions struct {
	follow       bool
	output       string
	colour       string
	configPath   string
	since, until string
	filter       eventview.Filter
}

func (a *app) eventsCommand() *cobra.Command {
	var o eventsOptions
	cmd := &cobra.Command{
		Use:   "events [FILE|-] [flags]",
		Short: "read the event log: one readable line per event, filtered, followed",
		Long: `Reads execguard's event log (the configuration's event_log, a FILE, or
standard input for "-") and prints one line per event:

  TIME SEVERITY WHAT (namespace=.. pod=.. container=.. image=.. command=.. tty=.. [stdin=attached] user=.. [k8s_user=..] decision=..)

k8s_user is the Kubernetes user who asked, where it is known: on the
admission webhook's decisions, and on events "execguard audit join"
attributed ("ambiguous: ..." when it found several candidates).

Control characters in any value are shown escaped (\x1b, \u202e, \\), never
sent to the terminal. Colour only on a terminal (--color). -o json passes
the ECS documents that pass the filters through unchanged, one per line.
Lines that are not event documents are reported on stderr and skipped; the
exit status is then 1.`,
		Example: `  execguard events                               # the node's event log
  execguard events -f --kind alert               # follow the alerts
  execguard events --namespace 'shop-*' --since 1h
  execguard events --outcome failure -o json events.ndjson | jq .execguard.reason
  kubectl logs ds/execguard | execguard events -`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("events: name at most one file (got %d)", len(args))
			}
			return nil
		},
		RunE: a.action(func(cmd *cobra.Command, args []string) (int, error) {
			return a.events(cmd.Context(), o, args)
		}),
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.follow, "follow", "f", false, "keep reading as events are appended (and across a rotation)")
	fl.StringVarP(&o.output, "output", "o", "text", "text (one line per event) or json (the documents unchanged)")
	fl.StringVar(&o.colour, "color", "auto", "auto (on a terminal, unless NO_COLOR is set), always or never")
	fl.StringVar(&o.configPath, "config", config.Path(), "execguard's node configuration, for its event_log")
	fl.StringVar(&o.filter.Namespace, "namespace", "", "only pods in this namespace (a shell `pattern`: shop-*)")
	fl.StringVar(&o.filter.Pod, "pod", "", "only this pod (a shell `pattern`)")
	fl.StringVar(&o.filter.Container, "container", "", "only this container, by name or id (a shell `pattern`)")
	fl.StringVar(&o.filter.Kind, "kind", "", "event or alert")
	fl.StringVar(&o.filter.Outcome, "outcome", "", "success, failure (blocked) or unknown")
	fl.StringVar(&o.since, "since", "", "only events at or after this `time`: RFC 3339, or a duration before now (15m, 2h)")
	fl.StringVar(&o.until, "until", "", "only events before this `time`: RFC 3339, or a duration before now")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions([]string{"event", "alert"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("outcome", cobra.FixedCompletions([]string{"success", "failure", "unknown"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *app) events(ctx context.Context, o eventsOptions, args []string) (int, error) {
	now := time.Now()
	var err error
	if o.filter.Since, err = parseWhen("--since", o.since, now); err != nil {
		return exitUsage, err
	}
	if o.filter.Until, err = parseWhen("--until", o.until, now); err != nil {
		return exitUsage, err
	}
	if err := o.filter.Validate(); err != nil {
		return exitUsage, usagef("events: %v", err)
	}
	if o.output != "text" && o.output != "json" {
		return exitUsage, usagef("events: -o %q: want text or json", o.output)
	}
	colour, err := a.useColour(o.colour)
	if err != nil {
		return exitUsage, err
	}

	source := "-"
	if len(args) == 1 {
		source = args[0]
	} else {
		cfg, err := config.Load(o.configPath)
		if err != nil {
			return exitPolicy, err
		}
		source = cfg.EventLog
	}

	printer := eventview.NewPrinter(a.stdout, colour)
	bad := 0
	handle := func(l eventview.Line) error {
		if len(strings.TrimSpace(string(l.Data))) == 0 {
			return nil
		}
		e, err := eventview.Parse(l.Data)
		if err != nil {
			bad++
			fmt.Fprintf(a.stderr, "execguard: events: %s:%d: %s\n", source, l.Number, eventview.Escape(err.Error()))
			return nil
		}
		if !o.filter.Match(e) {
			return nil
		}
		if o.output == "json" {
			_, err = a.stdout.Write(append(e.Raw, '\n'))
			return err
		}
		return printer.Print(e)
	}

	switch {
	case source == "-":
		err = eventview.Scan(a.stdin, handle)
	case o.follow:
		ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		err = eventview.Follow(ctx, source, followPoll, handle)
	default:
		var f *os.File
		if f, err = os.Open(source); err == nil {
			err = eventview.Scan(f, handle)
			f.Close()
		}
	}
	if err != nil {
		return exitPolicy, fmt.Errorf("events: %w", err)
	}
	if bad > 0 {
		return exitPolicy, nil
	}
	return exitOK, nil
}

// parseWhen reads --since and --until: an RFC 3339 time, or a duration
// before now.
func parseWhen(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return time.Time{}, usagef("events: %s %q: want an RFC 3339 time (2026-03-14T12:00:00Z) or a duration before now (15m, 2h)", flag, v)
	}
	return now.Add(-d), nil
}

// useColour decides --color: auto is a terminal on stdout without NO_COLOR
// (https://no-color.org) and with a TERM other than dumb.
func (a *app) useColour(mode string) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		f, ok := a.stdout.(*os.File)
		if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
			return false, nil
		}
		return isatty.IsTerminal(f.Fd()), nil
	}
	return false, usagef("events: --color %q: want auto, always or never", mode)
}
