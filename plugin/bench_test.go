package plugin

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/sirupsen/logrus"

	"github.com/execguard/execguard/eventlog"
	"github.com/execguard/execguard/state"
)

// latencies collects per-event handling times and reports percentiles.
type latencies map[string][]time.Duration

func (l latencies) time(kind string, fn func()) {
	start := time.Now()
	fn()
	l[kind] = append(l[kind], time.Since(start))
}

func (l latencies) report(b *testing.B) {
	var all []time.Duration
	kinds := make([]string, 0, len(l))
	for k, d := range l {
		kinds = append(kinds, k)
		all = append(all, d...)
	}
	sort.Strings(kinds)
	pct := func(d []time.Duration, p float64) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[min(len(d)-1, int(float64(len(d))*p))]
	}
	for _, k := range kinds {
		d := l[k]
		b.ReportMetric(float64(pct(d, 0.99).Microseconds()), "p99-µs/"+k)
	}
	b.ReportMetric(float64(pct(all, 0.50).Microseconds()), "p50-µs/event")
	b.ReportMetric(float64(pct(all, 0.99).Microseconds()), "p99-µs/event")
	b.ReportMetric(float64(pct(all, 1).Microseconds()), "max-µs/event")
}

// benchPlugin is a plugin with 1,000 containers indexed (half of them
// covered) and an event log of 4 MiB of other containers' events.
func benchPlugin(b *testing.B) (*Plugin, *api.PodSandbox, string, string) {
	b.Helper()
	dir := b.TempDir()
	s := DefaultSettings()
	s.ExecguardConfig = filepath.Join(dir, "none.toml")
	s.StateDir = filepath.Join(dir, "state")
	s.EventLog = filepath.Join(dir, "events.ndjson")
	log := logrus.New()
	log.SetOutput(io.Discard)
	p, err := New(s, log)
	if err != nil {
		b.Fatal(err)
	}
	var fill []byte
	for i := 0; len(fill) < 4<<20; i++ {
		fill = append(fill, filler(i, 900)...)
	}
	if err := os.WriteFile(s.EventLog, fill, 0o600); err != nil {
		b.Fatal(err)
	}
	pod := &api.PodSandbox{Id: "pod", Name: "web-7d9f8b6c5-x2x4z", Namespace: "prod", Uid: "uid", RuntimeHandler: "runc",
		Labels: map[string]string{"app.kubernetes.io/name": "web", "pod-template-hash": "7d9f8b6c5", "team": "payments"}}
	var ctrs []*api.Container
	for i := range 1000 {
		id := fmt.Sprintf("%064x", i+1)
		if i%2 == 0 {
			state.MarkCovered(s.StateDir, id, state.Mark{})
		}
		ctrs = append(ctrs, &api.Container{Id: id, PodSandboxId: "pod", Name: "c", State: api.ContainerState_CONTAINER_RUNNING,
			Annotations: map[string]string{"io.kubernetes.cri.image-name": "registry.example/web:1"}})
	}
	p.Synchronize(context.Background(), []*api.PodSandbox{pod}, ctrs)
	return p, pod, s.StateDir, s.EventLog
}

// BenchmarkEvent handles one container's life, event by event, the way the
// runtime sends them, with the wrapper's create (mark and start event)
// between CreateContainer and StartContainer, untimed. Every other
// container is interactive, so its stop writes an end event.
func BenchmarkEvent(b *testing.B) {
	p, pod, stateDir, eventLog := benchPlugin(b)
	ctx := context.Background()
	lat := latencies{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tty := i%2 == 0
		c := &api.Container{Id: fmt.Sprintf("bench%059d", i), PodSandboxId: pod.Id, Name: "shell",
			Args: []string{"/bin/sh"}, Env: []string{"PATH=/bin"}, State: api.ContainerState_CONTAINER_CREATED,
			Annotations: map[string]string{"io.kubernetes.cri.image-name": "registry.example/web:1"}}
		lat.time("create", func() { p.CreateContainer(ctx, pod, c) })
		b.StopTimer()
		state.MarkCovered(stateDir, c.Id, state.Mark{})
		line, _ := startDoc(b, c.Id, tty, time.Now())
		eventlog.Append(eventLog, line)
		b.StartTimer()
		c.State = api.ContainerState_CONTAINER_RUNNING
		lat.time("start", func() { p.StartContainer(ctx, pod, c) })
		c.State = api.ContainerState_CONTAINER_STOPPED
		lat.time("stop", func() { p.StopContainer(ctx, pod, c) })
		lat.time("remove", func() { p.RemoveContainer(ctx, pod, c) })
	}
	b.StopTimer()
	if p.Status().Containers != 1000 {
		b.Fatalf("%d containers indexed after the run, want 1000", p.Status().Containers)
	}
	lat.report(b)
}

// BenchmarkSynchronize is a full synchronisation of 1,000 containers that
// are all already indexed (a reconnection).
func BenchmarkSynchronize(b *testing.B) {
	p, pod, _, _ := benchPlugin(b)
	var ctrs []*api.Container
	for id, e := range p.ctrs {
		ctrs = append(ctrs, &api.Container{Id: id, PodSandboxId: pod.Id, Name: e.rec.Name, State: api.ContainerState_CONTAINER_RUNNING,
			Annotations: map[string]string{"io.kubernetes.cri.image-name": e.rec.Image}})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Synchronize(context.Background(), []*api.PodSandbox{pod}, ctrs)
	}
}
