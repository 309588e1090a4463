package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/execguard/execguard/audit"
)

func (a *app) auditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "name the Kubernetes user of each exec: join the API server's audit events to the event log",
		Long: `The API server's audit log knows who ran kubectl exec; execguard's event log
knows what ran where. "execguard audit join" matches each exec event to its
audit event by namespace, pod, container, command and terminal within the
request's time window, and writes an enriched copy of the event log
(user.name, user.group.name, the audit ID); a match that is not unique is
marked ambiguous, never guessed. "execguard audit serve" is an audit webhook
backend that writes what the API server sends to an audit log file.
See docs/audit.md.`,
		Args: cobra.ArbitraryArgs,
		RunE: a.group,
	}
	cmd.AddCommand(a.auditJoinCommand(), a.auditServeCommand())
	return cmd
}

func (a *app) auditJoinCommand() *cobra.Command {
	var auditLog, events, out string
	var skew time.Duration
	cmd := &cobra.Command{
		Use:   "join --audit-log FILE --events FILE [--out FILE]",
		Short: "write the event log with the Kubernetes user of each exec",
		Args:  noArgs,
	}
	f := cmd.Flags()
	f.StringVar(&auditLog, "audit-log", "", "the API server's audit log (--audit-log-format json), or the file audit serve writes (required)")
	f.StringVar(&events, "events", "", "execguard's event log (required)")
	f.StringVar(&out, "out", "-", `where the enriched copy goes; "-" is standard output`)
	f.DurationVar(&skew, "skew", time.Second, "how far the node's and the API server's clocks may differ")
	cmd.RunE = a.action(func(*cobra.Command, []string) (int, error) {
		if auditLog == "" || events == "" {
			return exitUsage, usagef("audit join: --audit-log and --events are required")
		}
		if skew < 0 {
			return exitUsage, usagef("audit join: --skew %s is negative", skew)
		}
		af, err := os.Open(auditLog)
		if err != nil {
			return exitPolicy, fmt.Errorf("audit join: %w", err)
		}
		defer af.Close()
		c := audit.NewCollector()
		if err := c.ReadLog(af); err != nil {
			// Unreadable lines are reported; the readable ones still join.
			fmt.Fprintf(a.stderr, "execguard: audit join: %s: %v\n", auditLog, err)
		}
		ef, err := os.Open(events)
		if err != nil {
			return exitPolicy, fmt.Errorf("audit join: %w", err)
		}
		defer ef.Close()
		var w io.Writer = a.stdout
		var of *os.File
		if out != "-" {
			if of, err = os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600); err != nil {
				return exitPolicy, fmt.Errorf("audit join: %w", err)
			}
			w = of
		}
		reqs := c.Requests()
		res, err := audit.Join(ef, w, reqs, audit.Options{Skew: skew})
		if of != nil {
			err = errors.Join(err, of.Close())
		}
		if err != nil {
			return exitPolicy, fmt.Errorf("audit join: %w", err)
		}
		fmt.Fprintf(a.stderr, "execguard: audit join: %d exec requests; %d exec events: %d attributed, %d ambiguous, %d without a request; %d ephemeral container requests: %d starts attributed, %d ambiguous\n",
			len(reqs.Execs), res.Unique+res.Ambiguous+res.None, res.Unique, res.Ambiguous, res.None, len(reqs.Debugs), res.Starts.Unique, res.Starts.Ambiguous)
		return exitOK, nil
	})
	return cmd
}

func (a *app) auditServeCommand() *cobra.Command {
	var listen, out, certFile, keyFile, logLevel string
	cmd := &cobra.Command{
		Use:   "serve --listen ADDR --out FILE",
		Short: "an audit webhook backend: append the API server's audit events to a file",
		Args:  noArgs,
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8444", "address to serve on")
	f.StringVar(&out, "out", "", "the audit log file to append to, one event a line (required)")
	f.StringVar(&certFile, "tls-cert", "", "serving certificate (PEM); without it, plain HTTP")
	f.StringVar(&keyFile, "tls-key", "", "serving key (PEM)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.RunE = a.action(func(cmd *cobra.Command, _ []string) (int, error) {
		if out == "" {
			return exitUsage, usagef("audit serve: --out FILE is required")
		}
		if (certFile == "") != (keyFile == "") {
			return exitUsage, usagef("audit serve: give both --tls-cert and --tls-key, or neither")
		}
		log := logrus.New()
		log.SetOutput(a.stderr)
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
		lvl, err := logrus.ParseLevel(logLevel)
		if err != nil {
			return exitUsage, usagef("audit serve: --log-level %q: want debug, info, warn or error", logLevel)
		}
		log.SetLevel(lvl)
		l, err := net.Listen("tcp", listen)
		if err != nil {
			log.WithError(err).Error("audit receiver not started")
			return exitPolicy, nil
		}
		srv := &http.Server{Handler: &audit.Receiver{Log: out, Logger: log}, ReadHeaderTimeout: 10 * time.Second}
		ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		done := make(chan error, 1)
		go func() {
			if certFile != "" {
				done <- srv.ServeTLS(l, certFile, keyFile)
			} else {
				done <- srv.Serve(l)
			}
		}()
		log.WithFields(logrus.Fields{"address": l.Addr().String(), "out": out}).Info("audit receiver serving")
		select {
		case err := <-done:
			log.WithError(err).Error("audit receiver stopped")
			return exitPolicy, nil
		case <-ctx.Done():
		}
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil {
			log.WithError(err).Error("audit receiver shutdown")
			return exitPolicy, nil
		}
		return exitOK, nil
	})
	return cmd
}
