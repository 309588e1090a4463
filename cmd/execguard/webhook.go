package main

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/webhook"
)

func (a *app) webhookCommand() *cobra.Command {
	var (
		listen, certFile, keyFile, policyFile, eventLog string
		clusterName, clusterID, logLevel                string
	)
	cmd := &cobra.Command{
		Use:   "webhook [flags]",
		Short: "serve the Kubernetes admission webhook: kubectl exec, attach and debug decided by user and group",
		Long: `Serves a validating admission webhook (admission.k8s.io/v1) for pods/exec and
pods/attach (CONNECT) and pods/ephemeralcontainers (UPDATE). It decides
with the same policy as the nodes, and knows who asked: the policy's
kubernetesUser and kubernetesGroup conditions hold here. Each decision is
an ECS document with user.name and user.group.name (dataset
execguard.admission). A changed policy file applies to the next request.
See docs/webhook.md; "execguard webhook certs" makes a self-signed
certificate for clusters without cert-manager.`,
		Args: noArgs,
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", ":8443", "address to serve HTTPS on")
	f.StringVar(&certFile, "tls-cert", "/etc/execguard-webhook/tls/tls.crt", "serving certificate (PEM); read again when it changes")
	f.StringVar(&keyFile, "tls-key", "/etc/execguard-webhook/tls/tls.key", "serving key (PEM)")
	f.StringVar(&policyFile, "policy", "", "policy file (YAML); empty: the built-in default policy")
	f.StringVar(&eventLog, "event-log", "-", `where decisions go: a file (NDJSON), or "-" for standard output`)
	f.StringVar(&clusterName, "cluster-name", "", "cluster name, for events and kubernetesClusterName")
	f.StringVar(&clusterID, "cluster-id", "", "cluster id, for events and kubernetesClusterId")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.RunE = a.action(func(cmd *cobra.Command, _ []string) (int, error) {
		log := logrus.New()
		log.SetOutput(a.stderr)
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
		lvl, err := logrus.ParseLevel(logLevel)
		if err != nil {
			return exitUsage, usagef("webhook: --log-level %q: want debug, info, warn or error", logLevel)
		}
		log.SetLevel(lvl)
		cfg := webhook.Config{
			PolicyFile: policyFile, EventLog: eventLog, Log: log,
			Cluster: detect.Cluster{ID: clusterID, Name: clusterName},
		}
		if eventLog == "-" {
			cfg.EventLog, cfg.Events = "", a.stdout
		}
		s, err := webhook.New(cfg)
		if err != nil {
			log.WithError(err).Error("webhook not started")
			return exitPolicy, nil
		}
		l, err := webhook.Listen(listen, certFile, keyFile)
		if err != nil {
			log.WithError(err).Error("webhook not started")
			return exitPolicy, nil
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		if err := s.Serve(ctx, l); err != nil {
			log.WithError(err).Error("webhook stopped")
			return exitPolicy, nil
		}
		return exitOK, nil
	})
	cmd.AddCommand(a.webhookCertsCommand())
	return cmd
}

func (a *app) webhookCertsCommand() *cobra.Command {
	var (
		service, namespace, out string
		dns, ips                []string
		validity                time.Duration
	)
	cmd := &cobra.Command{
		Use:   "certs --out DIR [flags]",
		Short: "make a self-signed CA and serving certificate for the webhook",
		Long: `Writes ca.crt, tls.crt and tls.key to DIR: a new CA (its key is not kept)
and a serving certificate it signed for the Service's names
(SERVICE, SERVICE.NAMESPACE, SERVICE.NAMESPACE.svc[.cluster.local]) and
any --dns and --ip given. Prints the CA as the base64 caBundle the
ValidatingWebhookConfiguration wants. Renewing is running it again: a new
pair and a new caBundle. For clusters with cert-manager, see
docs/webhook.md instead.`,
		Args: noArgs,
	}
	f := cmd.Flags()
	f.StringVar(&service, "service", "execguard-webhook", "the webhook's Service")
	f.StringVar(&namespace, "namespace", "execguard", "the Service's namespace")
	f.StringSliceVar(&dns, "dns", nil, "more DNS names (repeat or comma-separate)")
	f.StringSliceVar(&ips, "ip", nil, "IP addresses (a webhook called by URL)")
	f.DurationVar(&validity, "validity", 365*24*time.Hour, "how long the certificates are valid")
	f.StringVar(&out, "out", "", "directory to write ca.crt, tls.crt and tls.key to (required)")
	cmd.RunE = a.action(func(*cobra.Command, []string) (int, error) {
		if out == "" {
			return exitUsage, usagef("webhook certs: --out DIR is required")
		}
		req := webhook.CertRequest{Service: service, Namespace: namespace, DNSNames: dns, Validity: validity}
		for _, s := range ips {
			ip := net.ParseIP(s)
			if ip == nil {
				return exitUsage, usagef("webhook certs: --ip %q is not an IP address", s)
			}
			req.IPs = append(req.IPs, ip)
		}
		c, err := webhook.GenerateCerts(req, time.Now())
		if err != nil {
			return exitPolicy, err
		}
		if err := os.MkdirAll(out, 0o700); err != nil {
			return exitPolicy, fmt.Errorf("webhook certs: %w", err)
		}
		for _, w := range []struct {
			name string
			data []byte
			mode os.FileMode
		}{{"ca.crt", c.CA, 0o644}, {"tls.crt", c.Cert, 0o644}, {"tls.key", c.Key, 0o600}} {
			if err := os.WriteFile(filepath.Join(out, w.name), w.data, w.mode); err != nil {
				return exitPolicy, fmt.Errorf("webhook certs: %w", err)
			}
		}
		fmt.Fprintln(a.stdout, base64.StdEncoding.EncodeToString(c.CA))
		return exitOK, nil
	})
	return cmd
}
