// Command execguard-nri is execguard's NRI plugin.
//
//	execguard-nri [run] [flags]      serve (the default; also how a runtime launches it)
//	execguard-nri status [flags]     show what the running plugin reports
//
// Run it either way NRI allows: installed as /opt/nri/plugins/<index>-execguard,
// launched by containerd or CRI-O (configured from
// /etc/nri/conf.d/<index>-execguard.conf), or as a long-running daemon that
// connects to /var/run/nri/nri.sock. See plugin/README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/execguard/execguard/plugin"
)

// DefaultConfig is the plugin's own configuration file for the daemon way;
// a missing file means defaults.
const DefaultConfig = "/etc/execguard/nri.toml"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return serve(args, stderr)
	case "status":
		return status(args, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "execguard-nri: unknown command %q (want run or status)\n", cmd)
		return 2
	}
}

// settingsFlags reads the configuration file named by -config and lays the
// flags given over it.
func settingsFlags(fset *flag.FlagSet) func() (plugin.Settings, error) {
	cfg := fset.String("config", DefaultConfig, "plugin configuration file (TOML)")
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
		case errors.Is(err, fs.ErrNotExist) && *cfg == DefaultConfig:
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

func serve(args []string, stderr io.Writer) int {
	fset := flag.NewFlagSet("execguard-nri run", flag.ContinueOnError)
	fset.SetOutput(stderr)
	settings := settingsFlags(fset)
	if err := fset.Parse(args); err != nil {
		return 2
	}
	log := logrus.New()
	log.SetOutput(stderr)
	log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	s, err := settings()
	if err != nil {
		log.WithError(err).Error("configuration")
		return 2
	}
	p, err := plugin.New(s, log)
	if err != nil {
		log.WithError(err).Error("plugin")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := p.Run(ctx, plugin.Backoff{}); err != nil {
		log.WithError(err).Info("stopped")
		return 1
	}
	return 0
}

func status(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("execguard-nri status", flag.ContinueOnError)
	fset.SetOutput(stderr)
	settings := settingsFlags(fset)
	asJSON := fset.Bool("json", false, "print status.json as it is")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	s, err := settings()
	if err != nil {
		fmt.Fprintf(stderr, "execguard-nri: %v\n", err)
		return 2
	}
	node, _ := s.Resolve()
	st, ok, err := plugin.ReadStatus(node.StateDir)
	if err != nil {
		fmt.Fprintf(stderr, "execguard-nri: %v\n", err)
		return 1
	}
	if !ok {
		fmt.Fprintf(stderr, "execguard-nri: no status in %s: the plugin has not run with this state directory\n", node.StateDir)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
		return exitFor(st)
	}
	printStatus(stdout, st)
	return exitFor(st)
}

// exitFor is 0 when the plugin runs, is connected and every running
// container is covered; 3 when some are not; 1 when it is not serving.
func exitFor(st plugin.Status) int {
	switch {
	case !st.Alive() || !st.Connected:
		return 1
	case len(st.Uncovered) > 0:
		return 3
	}
	return 0
}

func printStatus(w io.Writer, st plugin.Status) {
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
		fmt.Fprintf(w, "last error:  %s\n", st.LastError)
	}
	if len(st.Uncovered) > 0 {
		fmt.Fprintln(w, "\nnot covered by execguard:")
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  CONTAINER\tNAME\tPOD\tRUNTIME HANDLER\tSINCE")
		for _, u := range st.Uncovered {
			fmt.Fprintf(tw, "  %.13s\t%s\t%s/%s\t%s\t%s\n", u.ID, orDash(u.Name), u.Namespace, u.Pod, orDash(u.RuntimeHandler), u.Since.Format(time.RFC3339))
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
