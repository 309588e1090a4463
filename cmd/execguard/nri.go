package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/execguard/execguard/eventview"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/execguard/execguard/plugin"
)

// defaultNRIConfig is the plugin's own configuration file for the daemon
// way; a missing file means defaults.
const defaultNRIConfig = "/etc/execguard/nri.toml"

// Exit statuses of nri status beyond 0 and 1.
const exitUncovered = 3

func (a *app) nriCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "nri",
		Short: "the NRI plugin: serve, or show what the running plugin reports",
		Long: `The NRI plugin tells the runtime wrapper about pods and containers, pairs
the end of interactive containers with their start, and raises an alert for
running containers whose runtime calls bypass the wrapper.

It runs either way NRI allows: installed as /opt/nri/plugins/<index>-execguard
(a copy of this binary), launched by containerd or CRI-O with its
configuration from /etc/nri/conf.d/<index>-execguard.conf; or as a
long-running daemon, "execguard nri run", that connects to
/var/run/nri/nri.sock. See plugin/README.md.`,
		Args: cobra.ArbitraryArgs,
		RunE: a.group,
	}
	cmd.AddCommand(a.nriRunCommand(), a.nriStatusCommand())
	return cmd
}

// settingsFlags registers -config and the settings that override it; the
// function returned reads the file and lays the flags given over it.
func settingsFlags(fset *pflag.FlagSet) func() (plugin.Settings, error) {
	cfg := fset.String("config", defaultNRIConfig, "plugin configuration file (TOML)")
	var overrides []func(*plugin.Settings)
	str := func(name, usage string, dst func(*plugin.Settings) *string) {
		v := fset.String(name, "", usage)
		overrides = append(overrides, func(s *plugin.Settings) {
			if *v != "" {
				*dst(s) = *v
			}
		})
	}
	str("execguard-config", "execguard's node configuration (event_log, state_dir, cluster)", func(s *plugin.Settings) *string { return &s.ExecguardConfig })
	str("event-log", "event log (overrides execguard's configuration)", func(s *plugin.Settings) *string { return &s.EventLog })
	str("state-dir", "state directory (overrides execguard's configuration)", func(s *plugin.Settings) *string { return &s.StateDir })
	str("socket", "NRI socket of the runtime (daemon way)", func(s *plugin.Settings) *string { return &s.Socket })
	str("metrics-address", "serve Prometheus metrics on this host:port", func(s *plugin.Settings) *string { return &s.MetricsAddress })
	str("log-level", "debug, info, warn or error", func(s *plugin.Settings) *string { return &s.LogLevel })
	str("log-file", "write the diagnostic log here instead of stderr", func(s *plugin.Settings) *string { return &s.LogFile })
	return func() (plugin.Settings, error) {
		s := plugin.DefaultSettings()
		text, err := os.ReadFile(*cfg)
		switch {
		case errors.Is(err, fs.ErrNotExist) && *cfg == defaultNRIConfig:
		case err != nil:
			return s, err
		default:
			if s, err = plugin.ParseSettings(s, text); err != nil {
				return s, fmt.Errorf("%s: %w", *cfg, err)
			}
		}
		for _, o := range overrides {
			o(&s)
		}
		return s, s.Validate()
	}
}

func (a *app) nriRunCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run [flags]",
		Short: "serve the NRI plugin (also how a runtime launches it)",
		Args:  noArgs,
	}
	settings := settingsFlags(cmd.Flags())
	cmd.RunE = a.action(func(cmd *cobra.Command, _ []string) (int, error) {
		log := logrus.New()
		log.SetOutput(a.stderr)
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
		s, err := settings()
		if err != nil {
			log.WithError(err).Error("configuration")
			return exitUsage, nil
		}
		p, err := plugin.New(s, log)
		if err != nil {
			log.WithError(err).Error("plugin")
			return exitPolicy, nil
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		if err := p.Run(ctx, plugin.Backoff{}); err != nil {
			log.WithError(err).Info("stopped")
			return exitPolicy, nil
		}
		return exitOK, nil
	})
	return cmd
}

func (a *app) nriStatusCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [flags]",
		Short: "show what the running plugin reports (same flags as run, to find its state directory)",
		Long: `Shows the plugin's status file: connection, runtime, and which running
containers the wrapper covers. Exit status 0 when the plugin runs, is
connected and covers every running container; 3 when some are not
covered; 1 when it is not serving.`,
		Args: noArgs,
	}
	settings := settingsFlags(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print status.json as it is")
	cmd.RunE = a.action(func(*cobra.Command, []string) (int, error) {
		s, err := settings()
		if err != nil {
			return exitUsage, usageError{err.Error()}
		}
		node, _ := s.Resolve()
		st, ok, err := plugin.ReadStatus(node.StateDir)
		if err != nil {
			return exitPolicy, err
		}
		if !ok {
			return exitPolicy, fmt.Errorf("no status in %s: the plugin has not run with this state directory", node.StateDir)
		}
		if asJSON {
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(st); err != nil {
				return exitPolicy, err
			}
			return nriExit(st), nil
		}
		printNRIStatus(a.stdout, st)
		return nriExit(st), nil
	})
	return cmd
}

// nriExit is 0 when the plugin runs, is connected and every running
// container is covered; 3 when some are not; 1 when it is not serving.
func nriExit(st plugin.Status) int {
	switch {
	case !st.Alive() || !st.Connected:
		return exitPolicy
	case len(st.Uncovered) > 0:
		return exitUncovered
	}
	return exitOK
}

func printNRIStatus(w io.Writer, st plugin.Status) {
	state := "connected"
	switch {
	case !st.Alive():
		state = fmt.Sprintf("not running (pid %d gone)", st.PID)
	case !st.Connected:
		state = "running, not connected"
	}
	fmt.Fprintf(w, "plugin:      %s (%s, pid %d, since %s)\n", state, st.Mode, st.PID, st.Started.Format(time.RFC3339))
	fmt.Fprintf(w, "runtime:     %s %s (NRI %s)\n", orDash(st.Runtime.Name), st.Runtime.Version, orDash(st.Runtime.NRIVersion))
	fmt.Fprintf(w, "reconnects:  %d\n", st.Reconnects)
	fmt.Fprintf(w, "updated:     %s\n", st.Updated.Format(time.RFC3339Nano))
	fmt.Fprintf(w, "state dir:   %s\n", st.StateDir)
	fmt.Fprintf(w, "pods:        %d\n", st.Pods)
	fmt.Fprintf(w, "containers:  %d indexed, %d running covered, %d running uncovered\n", st.Containers, len(st.Covered), len(st.Uncovered))
	if st.LastError != "" {
		fmt.Fprintf(w, "last error:  %s\n", eventview.Escape(st.LastError))
	}
	if len(st.Uncovered) > 0 {
		fmt.Fprintln(w, "\nnot covered by execguard:")
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  CONTAINER\tNAME\tPOD\tRUNTIME HANDLER\tSINCE")
		for _, u := range st.Uncovered {
			// Names come from whoever created the pod (a CRI client can use
			// any bytes): escaped, they cannot act on the terminal.
			fmt.Fprintf(tw, "  %.13s\t%s\t%s/%s\t%s\t%s\n", eventview.Escape(u.ID), eventview.Escape(orDash(u.Name)),
				eventview.Escape(u.Namespace), eventview.Escape(u.Pod), eventview.Escape(orDash(u.RuntimeHandler)), u.Since.Format(time.RFC3339))
		}
		tw.Flush()
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
