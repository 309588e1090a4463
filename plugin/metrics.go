package plugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the plugin's Prometheus instruments, in a registry of its own
// (no global state), served on /metrics only when an address is configured.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec   // NRI events handled, by event and outcome
	duration   *prometheus.HistogramVec // handling time, by event
	written    *prometheus.CounterVec   // event log documents, by kind, action and outcome
	reconnects prometheus.Counter
	connected  prometheus.Gauge
	stateErrs  prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "execguard_nri_events_total",
			Help: "NRI events handled, by event kind and outcome (ok, error).",
		}, []string{"event", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "execguard_nri_event_duration_seconds",
			Help:    "Time to handle one NRI event, publishing included.",
			Buckets: []float64{50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 10e-3, 50e-3, 0.25, 1},
		}, []string{"event"}),
		written: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "execguard_nri_documents_total",
			Help: "Documents written to the event log, by ECS event.kind, event.action and outcome (ok, error).",
		}, []string{"kind", "action", "outcome"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "execguard_nri_reconnects_total",
			Help: "Connections to the runtime after the first.",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "execguard_nri_connected",
			Help: "1 while the plugin is connected to the runtime.",
		}),
		stateErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "execguard_nri_state_errors_total",
			Help: "Failed writes or removals in the state directory.",
		}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.written,
		m.reconnects, m.connected, m.stateErrs,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// countFunc counts the plugin's containers when scraped.
type countFunc func() (indexed, covered, uncovered int)

// gauges registers the container counts, computed at scrape time so that
// handling an event never walks the index.
func (m *metrics) gauges(count countFunc) {
	gauge := func(name, help string, labels prometheus.Labels, pick func(i, c, u int) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, func() float64 {
			i, c, u := count()
			return float64(pick(i, c, u))
		})
	}
	const help = "Running containers by coverage: covered (the wrapper handled their create) or uncovered."
	m.reg.MustRegister(
		gauge("execguard_nri_containers", help, prometheus.Labels{"coverage": "covered"}, func(_, c, _ int) int { return c }),
		gauge("execguard_nri_containers", help, prometheus.Labels{"coverage": "uncovered"}, func(_, _, u int) int { return u }),
		gauge("execguard_nri_containers_indexed", "Containers the plugin knows of, in any state.", nil, func(i, _, _ int) int { return i }),
	)
}

// queueGauge registers the number of documents waiting for the plugin's
// writer, read at scrape time.
func (m *metrics) queueGauge(length func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "execguard_nri_write_queue_length",
		Help: "Documents waiting for the plugin's writer to append them to the event log.",
	}, func() float64 { return float64(length()) }))
}

// serve listens on addr and serves /metrics until ctx ends. It returns once
// the listener is open, so a bad address is reported at once.
func (m *metrics) serve(ctx context.Context, addr string) (net.Addr, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = l.Close()
		}
	}()
	return l.Addr(), nil
}
