package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/stub"
	"github.com/sirupsen/logrus"
)

// Backoff bounds the wait between connection attempts of the external
// plugin; it doubles from Min to Max and starts over after a connection
// that got configured.
type Backoff struct {
	Min, Max time.Duration
}

// SpoolReplayInterval is how often the plugin appends spooled events to
// the event log.
const SpoolReplayInterval = 5 * time.Second

// DefaultBackoff is used when Run is given a zero Backoff.
var DefaultBackoff = Backoff{Min: 250 * time.Millisecond, Max: 30 * time.Second}

// PreRegistered reports whether the runtime launched this process as a
// plugin (it then passes the connection in NRI_PLUGIN_SOCKET).
func PreRegistered() bool { return os.Getenv(api.PluginSocketEnvVar) != "" }

// Run connects the plugin to the runtime and serves it until ctx ends.
//
// A plugin the runtime launched (NRI_PLUGIN_SOCKET set) serves its one
// connection and returns when it closes: the runtime launches a new one when
// it restarts. Its name and index are the runtime's. An external plugin
// connects to the configured socket and, whenever the connection is lost or
// cannot be made, tries again with backoff; each new connection starts with
// a full synchronisation.
func (p *Plugin) Run(ctx context.Context, b Backoff) error {
	if b.Min <= 0 || b.Max < b.Min {
		b = DefaultBackoff
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.mu.Lock()
	p.ctx = ctx
	p.startMetrics()
	p.mu.Unlock()
	statusDone := make(chan struct{})
	go p.statusLoop(ctx, statusDone)
	go p.replaySpool(ctx, SpoolReplayInterval)
	go p.writeLoop(ctx)
	defer func() {
		cancel()
		<-p.queue.drained
		<-statusDone
		p.closeLog()
	}()

	if PreRegistered() {
		err := p.serveOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("connection to the runtime ended: %w", err)
	}
	wait := b.Min
	for {
		before := p.connections()
		err := p.serveOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if p.connections() > before {
			wait = b.Min // it was connected: start the backoff over
		}
		p.log.WithError(err).WithField("retry_in", wait).Warn("not connected to the runtime")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, b.Max)
	}
}

func (p *Plugin) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns
}

// serveOnce makes one connection and serves it until it closes.
func (p *Plugin) serveOnce(ctx context.Context) error {
	s := p.Settings()
	opts := []stub.Option{stub.WithLogger(nriLogger{p.log.WithField("component", "nri")})}
	if !PreRegistered() {
		opts = append(opts, stub.WithSocketPath(s.Socket),
			stub.WithPluginName(s.PluginName), stub.WithPluginIdx(s.PluginIndex))
	}
	st, err := stub.New(p, opts...)
	if err != nil {
		return fmt.Errorf("nri stub: %w", err)
	}
	if err := st.Start(ctx); err != nil {
		p.disconnected(err)
		return err
	}
	p.setRuntimeNRIVersion(st.RuntimeNRIVersion())
	done := make(chan struct{})
	go func() {
		st.Wait()
		close(done)
	}()
	select {
	case <-done:
		err = errors.New("connection closed")
	case <-ctx.Done():
		st.Stop()
		err = ctx.Err()
	}
	p.disconnected(err)
	return err
}

func (p *Plugin) disconnected(err error) {
	p.mu.Lock()
	was := p.connected
	p.connected = false
	if err != nil && !errors.Is(err, context.Canceled) {
		p.lastErr = err.Error()
	}
	p.mu.Unlock()
	p.metrics.connected.Set(0)
	if was {
		p.log.WithError(err).Warn("disconnected from the runtime")
	}
	p.kickStatus()
}

// nriLogger hands the NRI stub's log to logrus.
type nriLogger struct{ e *logrus.Entry }

func (l nriLogger) Debugf(_ context.Context, f string, a ...any) { l.e.Debugf(f, a...) }
func (l nriLogger) Infof(_ context.Context, f string, a ...any)  { l.e.Debugf(f, a...) }
func (l nriLogger) Warnf(_ context.Context, f string, a ...any)  { l.e.Warnf(f, a...) }
func (l nriLogger) Errorf(_ context.Context, f string, a ...any) { l.e.Errorf(f, a...) }
