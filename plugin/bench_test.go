package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/sirupsen/logrus"

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

// benchPlugin is a plugin with 1,000 containers indexed, half of them
// covered (the wrapper's marks, every tenth covered one interactive).
func benchPlugin(b *testing.B) (*Plugin, *api.PodSandbox, string) {
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
	// The writer drains what the handlers queue, as under Run.
	wctx, stopWriter := context.WithCancel(context.Background())
	go p.writeLoop(wctx)
	b.Cleanup(func() { stopWriter(); <-p.queue.drained })
	pod := &api.PodSandbox{Id: "pod", Name: "web-7d9f8b6c5-x2x4z", Namespace: "prod", Uid: "uid", RuntimeHandler: "runc",
		Labels: map[string]string{"app.kubernetes.io/name": "web", "pod-template-hash": "7d9f8b6c5", "team": "payments"}}
	var ctrs []*api.Container
	for i := range 1000 {
		id := fmt.Sprintf("%064x", i+1)
		if i%2 == 0 {
			_, m := wrapperStart(b, id, i%20 == 0, time.Now())
			if err := state.MarkCovered(s.StateDir, id, m); err != nil {
				b.Fatal(err)
			}
		}
		ctrs = append(ctrs, &api.Container{Id: id, PodSandboxId: "pod", Name: "c", State: api.ContainerState_CONTAINER_RUNNING,
			Annotations: map[string]string{"io.kubernetes.cri.image-name": "registry.example/web:1"}})
	}
	p.Synchronize(context.Background(), []*api.PodSandbox{pod}, ctrs)
	if st := p.Status(); len(st.Covered) != 500 || len(st.Sessions) != 50 {
		b.Fatalf("after synchronising: %d covered, %d sessions; want 500, 50", len(st.Covered), len(st.Sessions))
	}
	return p, pod, s.StateDir
}

// BenchmarkEvent handles one container's life, event by event, the way the
// runtime sends them, with the wrapper's create (its coverage mark) between
// CreateContainer and StartContainer, untimed. Every other container is
// interactive, so its start reads the mark and its stop writes an end event.
func BenchmarkEvent(b *testing.B) {
	p, pod, stateDir := benchPlugin(b)
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
		_, m := wrapperStart(b, c.Id, tty, time.Now())
		if err := state.MarkCovered(stateDir, c.Id, m); err != nil {
			b.Fatal(err)
		}
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
	if err := p.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	if got, want := ends(b, p.node.EventLog), (b.N+1)/2; got != want {
		b.Fatalf("%d end events, want %d (one per interactive container)", got, want)
	}
	lat.report(b)
}

// BenchmarkSynchronize is a full synchronisation of 1,000 containers that
// are all already indexed (a reconnection).
func BenchmarkSynchronize(b *testing.B) {
	p, pod, _ := benchPlugin(b)
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

// ends counts the end events in the event log.
func ends(b *testing.B, path string) int {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		b.Fatal(err)
	}
	return bytes.Count(data, []byte(`"type":["end"]`))
}
