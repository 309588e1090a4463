// Package plugin is execguard's NRI plugin. Through NRI, containerd and
// CRI-O tell it about every pod and container on the node; it
//
//   - publishes, per container, the metadata the runtime wrapper's events and
//     policy need and the bundle's annotations lack (pod labels and UID,
//     image digest, runtime handler) as <state_dir>/containers/<id>.json;
//   - reports every running container without the wrapper's coverage mark
//     (<state_dir>/covered/<id>) as an alert and in its status;
//   - writes the end event of a container whose init was an interactive
//     entry leader, paired with the wrapper's container-start event by what
//     the wrapper's coverage mark records of it;
//   - keeps <state_dir>/status.json and, when asked, Prometheus metrics.
//
// No handler ever returns an error to the runtime: a failure here must not
// fail a pod or a container, nor cost the plugin its connection.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/sirupsen/logrus"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/eventlog"
	"github.com/execguard/execguard/state"
)

// markGrace keeps a coverage mark that no pod or container in a
// synchronisation accounts for, if it is this young: the wrapper marks a pod
// sandbox before the runtime tells NRI about it.
const markGrace = time.Minute

type coverage int

const (
	coverageUnknown coverage = iota // not yet running
	coverageCovered
	coverageUncovered
)

// ctrEntry is what the plugin knows of one container.
type ctrEntry struct {
	rec       state.Container
	podID     string
	state     api.ContainerState
	coverage  coverage
	since     time.Time  // when found uncovered
	alerted   time.Time  // when its coverage alert was written
	args      []string   // the init's command, bounded, for its end event
	tty       bool       // TERM=xterm in its environment
	start     *startInfo // from its coverage mark; nil while not covered
	ended     bool
	published bool // its record file is written
}

// Plugin is the NRI plugin. Create it with New and connect it with Run; its
// exported handler methods are called by the NRI stub.
type Plugin struct {
	log     *logrus.Logger
	metrics *metrics

	mu       sync.Mutex
	settings Settings
	node     Node
	docs     docContext
	// nodeErr and movedStateDir are what refreshNode last reported, so a
	// standing problem is logged once.
	nodeErr       string
	movedStateDir string
	mode          string
	started       time.Time

	pods map[string]*podInfo
	ctrs map[string]*ctrEntry

	// hints are what a previous run of the plugin left in status.json:
	// coverage alerts already written, interactive sessions not yet ended.
	hintsDir    string
	hintAlerted map[string]time.Time
	hintSession map[string]SessionInfo

	connected  bool
	synced     time.Time
	runtime    Runtime
	conns      int
	lastErr    string
	metricsOn  net.Addr
	logFile    *os.File
	statusKick chan struct{}
	ctx        context.Context
	// logDirWarned is the event log directory warning last logged.
	logDirWarned string
	// queue carries the documents the handlers write to the writer
	// goroutine (writeLoop).
	queue *writeQueue
}

// New creates a plugin from its settings; log receives its diagnostics
// (its level and output follow the settings).
func New(s Settings, log *logrus.Logger) (*Plugin, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = logrus.New()
	}
	p := &Plugin{
		log:        log,
		metrics:    newMetrics(),
		pods:       map[string]*podInfo{},
		ctrs:       map[string]*ctrEntry{},
		started:    time.Now(),
		mode:       "external",
		statusKick: make(chan struct{}, 1),
		ctx:        context.Background(),
		queue:      newWriteQueue(QueueSize),
	}
	if os.Getenv(api.PluginSocketEnvVar) != "" {
		p.mode = "pre-registered"
	}
	p.docs.host = state.LocalHost()
	p.metrics.gauges(p.counts)
	p.metrics.queueGauge(func() int { return p.queue.len() })
	p.applySettings(s)
	return p, nil
}

// applySettings makes s current: node configuration, logging. The caller
// holds p.mu or owns p alone.
func (p *Plugin) applySettings(s Settings) {
	p.settings = s
	node, err := s.Resolve()
	if err != nil {
		p.log.WithError(err).Warn("execguard node configuration unreadable; using its defaults where invalid")
	}
	p.node = node
	p.loadHints()
	p.docs.cluster = detect.Cluster{ID: node.ClusterID, Name: node.ClusterName}
	p.docs.namespace = node.Namespace
	p.docs.redactor = node.Redactor
	if lvl, err := logrus.ParseLevel(s.LogLevel); err == nil {
		p.log.SetLevel(lvl)
	}
	if s.LogFile != "" && (p.logFile == nil || p.logFile.Name() != s.LogFile) {
		if err := os.MkdirAll(filepath.Dir(s.LogFile), 0o750); err != nil {
			p.log.WithError(err).Error("log file directory")
		} else if f, err := os.OpenFile(s.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640); err != nil {
			p.log.WithError(err).Error("log file")
		} else {
			p.log.SetOutput(f)
			if p.logFile != nil {
				p.logFile.Close()
			}
			p.logFile = f
		}
	}
	p.log.WithFields(logrus.Fields{"state_dir": node.StateDir, "event_log": node.EventLog}).Info("settings applied")
}

// Settings returns the settings in effect.
func (p *Plugin) Settings() Settings {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.settings
}

// StateDir returns the state directory in effect.
func (p *Plugin) StateDir() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.node.StateDir
}

// handle runs one NRI event's work under the lock, timed and counted; a
// panic is logged and counted, never passed on to the runtime.
func (p *Plugin) handle(event string, fn func() error) {
	start := time.Now()
	outcome := "ok"
	defer func() {
		if r := recover(); r != nil {
			outcome = "error"
			p.log.WithField("event", event).Errorf("panic: %v\n%s", r, debug.Stack())
		}
		took := time.Since(start)
		p.metrics.requests.WithLabelValues(event, outcome).Inc()
		p.metrics.duration.WithLabelValues(event).Observe(took.Seconds())
		if p.log.IsLevelEnabled(logrus.DebugLevel) {
			p.log.WithFields(logrus.Fields{"event": event, "outcome": outcome, "took": took}).Debug("handled")
		}
	}()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := fn(); err != nil {
		outcome = "error"
		p.lastErr = fmt.Sprintf("%s: %v", event, err)
		p.log.WithField("event", event).WithError(err).Error("event not fully handled")
	}
	p.kickStatus()
}

// Configure is the runtime's first request on a connection. A plugin the
// runtime launches gets its configuration file's text here; an invalid one
// is logged and the previous settings stay, so the plugin still connects.
func (p *Plugin) Configure(_ context.Context, text, runtimeName, runtimeVersion string) (api.EventMask, error) {
	p.handle("configure", func() error {
		p.runtime = Runtime{Name: runtimeName, Version: runtimeVersion}
		p.connected = true
		p.conns++
		p.metrics.connected.Set(1)
		if p.conns > 1 {
			p.metrics.reconnects.Inc()
		}
		p.log.WithFields(logrus.Fields{"runtime": runtimeName, "version": runtimeVersion}).Info("connected")
		if strings.TrimSpace(text) == "" {
			return nil
		}
		s, err := ParseSettings(p.settings, []byte(text))
		if err != nil {
			return fmt.Errorf("configuration from the runtime ignored: %w", err)
		}
		p.applySettings(s)
		p.startMetrics()
		return nil
	})
	return 0, nil
}

// setRuntimeNRIVersion records the runtime's NRI version once known.
func (p *Plugin) setRuntimeNRIVersion(v string) {
	p.mu.Lock()
	p.runtime.NRIVersion = v
	p.mu.Unlock()
	p.kickStatus()
}

// Synchronize brings the plugin in line with what the runtime has: on the
// first connection and again after every reconnection. It ends in the state a
// fresh start would have: records for exactly these containers, coverage of
// the running ones, and the end events of interactive containers that ended
// while the plugin was away.
func (p *Plugin) Synchronize(_ context.Context, pods []*api.PodSandbox, ctrs []*api.Container) ([]*api.ContainerUpdate, error) {
	p.handle("synchronize", func() error { return p.synchronize(pods, ctrs) })
	return nil, nil
}

func (p *Plugin) synchronize(pods []*api.PodSandbox, ctrs []*api.Container) error {
	began := time.Now()
	var errs []error
	newPods := make(map[string]*podInfo, len(pods))
	for _, pod := range pods {
		if pi := newPodInfo(pod); pi != nil && pi.ID != "" {
			if old := p.pods[pi.ID]; old.same(pi) {
				pi = old // keep sharing the old labels map
			}
			newPods[pi.ID] = pi
		}
	}
	seen := make(map[string]bool, len(ctrs))
	for _, c := range ctrs {
		if err := state.ValidID(c.GetId()); err != nil {
			errs = append(errs, err)
			continue
		}
		seen[c.GetId()] = true
	}
	// Containers that went away while the plugin was not connected.
	for id, e := range p.ctrs {
		if !seen[id] {
			p.endIfInteractive(e, nil, "resync")
			errs = append(errs, p.forget(id))
		}
	}
	p.pods = newPods
	marked, err := p.marked()
	errs = append(errs, err)
	for _, c := range ctrs {
		if !seen[c.GetId()] {
			continue
		}
		e := p.index(newPods[c.GetPodSandboxId()], c)
		if e.state == api.ContainerState_CONTAINER_STOPPED {
			// Created and stopped while no plugin ran: its mark still
			// says whether its end is due.
			if e.start == nil && marked[c.GetId()] {
				p.learnStart(e)
			}
			p.endIfInteractive(e, c, "resync")
		}
	}
	errs = append(errs, p.removeStale(seen, marked, began))
	if marked != nil {
		p.checkCoverage(p.running(), marked)
	}
	p.synced = time.Now()
	p.log.WithFields(logrus.Fields{"pods": len(p.pods), "containers": len(p.ctrs),
		"took": time.Since(began).Round(time.Microsecond)}).Info("synchronized")
	return errors.Join(errs...)
}

// running lists the running containers, in no order.
func (p *Plugin) running() []*ctrEntry {
	var out []*ctrEntry
	for _, e := range p.ctrs {
		if e.state == api.ContainerState_CONTAINER_RUNNING {
			out = append(out, e)
		}
	}
	return out
}

// RunPodSandbox indexes a new pod.
func (p *Plugin) RunPodSandbox(_ context.Context, pod *api.PodSandbox) error {
	p.handle("run_pod_sandbox", func() error {
		pi := newPodInfo(pod)
		if pi == nil || pi.ID == "" {
			return errors.New("pod without an id")
		}
		if pi.dropped > 0 {
			p.log.WithFields(logrus.Fields{"pod": pi.Namespace + "/" + pi.Name, "dropped": pi.dropped}).
				Warn("pod labels beyond the bounds left out of the records")
		}
		p.pods[pi.ID] = pi
		return nil
	})
	return nil
}

// RemovePodSandbox forgets a pod, what is left of its containers and its
// sandbox's coverage mark.
func (p *Plugin) RemovePodSandbox(_ context.Context, pod *api.PodSandbox) error {
	p.handle("remove_pod_sandbox", func() error {
		id := pod.GetId()
		var errs []error
		for cid, e := range p.ctrs {
			if e.podID == id {
				p.endIfInteractive(e, nil, "")
				errs = append(errs, p.forget(cid))
			}
		}
		delete(p.pods, id)
		if id != "" {
			errs = append(errs, p.stateErr(state.RemoveCovered(p.node.StateDir, id)))
		}
		return errors.Join(errs...)
	})
	return nil
}

// CreateContainer publishes the container's record before the runtime
// creates it, so the wrapper's create already reads it. The runtime's create
// (and the wrapper's coverage mark) comes after this event.
func (p *Plugin) CreateContainer(_ context.Context, pod *api.PodSandbox, c *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
	p.handle("create_container", func() error {
		if err := state.ValidID(c.GetId()); err != nil {
			return err
		}
		e := p.index(p.podOf(pod), c)
		if !e.published {
			return errors.New("record not published")
		}
		return nil
	})
	return nil, nil, nil
}

// StartContainer comes after the runtime's create: the wrapper has left its
// mark by now, or never will.
func (p *Plugin) StartContainer(_ context.Context, pod *api.PodSandbox, c *api.Container) error {
	p.handle("start_container", func() error {
		if err := state.ValidID(c.GetId()); err != nil {
			return err
		}
		e := p.index(p.podOf(pod), c)
		e.state = api.ContainerState_CONTAINER_RUNNING
		p.checkCoverage([]*ctrEntry{e}, nil)
		return nil
	})
	return nil
}

// StopContainer writes the end event of an interactive init. Containerd
// sends it for a stop request and again when it sees the exit; one end
// event is written.
func (p *Plugin) StopContainer(_ context.Context, pod *api.PodSandbox, c *api.Container) ([]*api.ContainerUpdate, error) {
	p.handle("stop_container", func() error {
		if err := state.ValidID(c.GetId()); err != nil {
			return err
		}
		e := p.index(p.podOf(pod), c)
		e.state = api.ContainerState_CONTAINER_STOPPED
		p.endIfInteractive(e, c, "")
		return nil
	})
	return nil, nil
}

// RemoveContainer forgets a container: its record, its coverage mark.
func (p *Plugin) RemoveContainer(_ context.Context, _ *api.PodSandbox, c *api.Container) error {
	p.handle("remove_container", func() error {
		id := c.GetId()
		if err := state.ValidID(id); err != nil {
			return err
		}
		if e := p.ctrs[id]; e != nil {
			p.endIfInteractive(e, c, "")
		}
		return p.forget(id)
	})
	return nil
}

// Shutdown is the runtime going away; Run reconnects.
func (p *Plugin) Shutdown(context.Context) {
	p.log.Info("runtime shutting down")
}

// podOf is the indexed pod for an event's pod, indexing it when new.
func (p *Plugin) podOf(pod *api.PodSandbox) *podInfo {
	id := pod.GetId()
	if id == "" {
		return nil
	}
	if pi := p.pods[id]; pi != nil && (pod.GetName() == "" || pi.Name == pod.GetName()) {
		return pi
	}
	// Containerd sends a bare pod (its id only) when it lost the sandbox.
	if pod.GetName() == "" && pod.GetNamespace() == "" {
		return nil
	}
	pi := newPodInfo(pod)
	p.pods[id] = pi
	return pi
}

// index records what an event says of a container and publishes its record
// when it changed. The caller has checked the id.
func (p *Plugin) index(pi *podInfo, c *api.Container) *ctrEntry {
	id := c.GetId()
	if pi == nil {
		pi = p.pods[c.GetPodSandboxId()]
	}
	rec := buildRecord(pi, c)
	e := p.ctrs[id]
	if e == nil {
		e = &ctrEntry{args: processArgs(c.GetArgs()), tty: ttyHint(c.GetEnv())}
		if h, ok := p.hintSession[id]; ok {
			si := h.startInfo
			e.start, e.ended = &si, h.Ended
		}
		p.ctrs[id] = e
	}
	if c.GetState() != api.ContainerState_CONTAINER_UNKNOWN {
		e.state = c.GetState()
	}
	if pi != nil {
		e.podID = pi.ID
	} else if e.podID == "" {
		e.podID = rec.SandboxID
	}
	if !e.published || !sameRecord(e.rec, rec) {
		e.rec = rec
		err := state.WriteContainer(p.node.StateDir, rec)
		e.published = err == nil
		if err := p.stateErr(err); err != nil {
			p.log.WithField("container", id).WithError(err).Error("record not published")
		}
	}
	return e
}

// forget removes a container's record and coverage mark and drops it.
func (p *Plugin) forget(id string) error {
	delete(p.ctrs, id)
	return errors.Join(
		p.stateErr(state.RemoveContainer(p.node.StateDir, id)),
		p.stateErr(state.RemoveCovered(p.node.StateDir, id)),
	)
}

// marked lists the containers with the wrapper's coverage mark, once for a
// whole synchronisation; nil when the listing failed.
func (p *Plugin) marked() (map[string]bool, error) {
	ids, err := state.ListCovered(p.node.StateDir)
	if err := p.stateErr(err); err != nil {
		return nil, fmt.Errorf("coverage marks not listed: %w", err)
	}
	marked := make(map[string]bool, len(ids))
	for _, id := range ids {
		marked[id] = true
	}
	return marked, nil
}

// removeStale removes the records of containers the runtime no longer has
// and coverage marks no pod or container accounts for.
func (p *Plugin) removeStale(seen, marked map[string]bool, began time.Time) error {
	var errs []error
	ids, err := state.ListContainers(p.node.StateDir)
	errs = append(errs, p.stateErr(err))
	for _, id := range ids {
		if !seen[id] {
			errs = append(errs, p.stateErr(state.RemoveContainer(p.node.StateDir, id)))
		}
	}
	for id := range marked {
		if seen[id] || p.pods[id] != nil {
			continue
		}
		path, err := state.CoveredPath(p.node.StateDir, id)
		if err != nil {
			continue // ListCovered lists valid ids only
		}
		st, err := os.Lstat(path)
		if err != nil || began.Sub(st.ModTime()) < markGrace {
			continue
		}
		errs = append(errs, p.stateErr(state.RemoveCovered(p.node.StateDir, id)))
	}
	return errors.Join(errs...)
}

// checkCoverage looks for the wrapper's mark of each running container,
// alerts once on each one without it, and learns each covered one's start
// from its mark. marked, when given, holds the marked containers (listed
// once for a synchronisation); otherwise each mark is looked up.
func (p *Plugin) checkCoverage(entries []*ctrEntry, marked map[string]bool) {
	now := time.Now()
	for _, e := range entries {
		id := e.rec.ID
		covered := marked[id]
		if marked == nil {
			var err error
			covered, err = state.Covered(p.node.StateDir, id)
			if err := p.stateErr(err); err != nil {
				p.log.WithField("container", id).WithError(err).Error("coverage unknown")
				continue
			}
		}
		if covered {
			e.coverage = coverageCovered
			e.since, e.alerted = time.Time{}, time.Time{}
		} else if e.coverage != coverageUncovered {
			e.coverage = coverageUncovered
			e.since = now
			if t, ok := p.hintAlerted[id]; ok {
				e.alerted = t // a previous run of the plugin wrote the alert
			}
		}
		if e.coverage == coverageUncovered && e.alerted.IsZero() {
			p.alertUncovered(e, now)
		}
		// An uncovered container has no start event to pair an end with:
		// its coverage alert reports it, and it gets no end event.
		if covered && e.start == nil {
			p.learnStart(e)
		}
	}
}

// learnStart reads a covered container's mark for what its end event pairs
// with. A mark that cannot be read is logged and taken for one without start
// facts; one that went meanwhile (the container is being removed) leaves
// the start unknown.
func (p *Plugin) learnStart(e *ctrEntry) {
	m, ok, err := state.ReadMark(p.node.StateDir, e.rec.ID)
	if err := p.stateErr(err); err != nil {
		p.log.WithField("container", e.rec.ID).WithError(err).Warn("coverage mark unreadable: its end pairs by container id only")
	} else if !ok {
		return
	}
	si := startFromMark(m, e.tty)
	e.start = &si
}

func (p *Plugin) alertUncovered(e *ctrEntry, now time.Time) {
	reason := "no execguard coverage mark: the container was created before execguard was installed, or by a runtime handler that does not run the wrapper"
	if e.rec.RuntimeHandler != "" {
		reason += fmt.Sprintf(" (runtime handler %q)", e.rec.RuntimeHandler)
	}
	p.log.WithFields(logrus.Fields{"container": e.rec.ID, "name": e.rec.Name, "pod": e.rec.PodNamespace + "/" + e.rec.PodName,
		"runtime_handler": e.rec.RuntimeHandler}).Warn("container not covered by execguard")
	buf, err := p.docs.coverageAlert(now, e.rec, reason)
	if err != nil {
		p.written("alert", ActionCoverage, err)
		return
	}
	if p.record(buf, "alert", ActionCoverage) == nil {
		e.alerted = now
	}
}

// endIfInteractive writes the end event of a container whose init was an
// interactive entry leader, once, unless the front that started it writes
// its end itself (execguard's shim). c, when given, is the runtime's view of
// the stopped container (its exit code).
func (p *Plugin) endIfInteractive(e *ctrEntry, c *api.Container, detected string) {
	if e.ended || e.start == nil || !e.start.Interactive || e.start.EndsBy != "" {
		return
	}
	var exit *int32
	if c != nil && c.GetFinishedAt() != 0 {
		code := c.GetExitCode()
		exit = &code
	}
	buf, err := p.docs.endEvent(time.Now(), e.rec, *e.start, e.args, exit, detected)
	if err == nil {
		// Queued for the writer: the event log's lock must not hold the
		// handler past the runtime's timeout.
		p.record(buf, "event", ActionEnd)
	} else {
		p.written("event", ActionEnd, err)
	}
	// Marked ended even when the write failed: a retry on the next stop
	// notification would come out of order, and the failure is counted.
	e.ended = true
}

// replaySpool appends what the spool holds to the event log, every
// interval until ctx ends, so records spooled while the log could not be
// written reach it even when no runtime call comes.
func (p *Plugin) replaySpool(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		p.refreshNode()
		l := eventlog.Log{Path: p.node.EventLog, StateDir: p.node.StateDir}
		p.mu.Unlock()
		if l.StateDir == "" {
			continue
		}
		n, err := l.Replay(0)
		if n > 0 {
			p.log.WithField("records", n).Info("spooled events appended to the event log")
		}
		if err != nil {
			p.log.WithError(err).Warn("spooled events wait: the event log still cannot be written")
		}
	}
}

// refreshNode follows execguard's node configuration as the wrapper does,
// which reads it on every call: a changed event_log, cluster or redaction
// applies from the next tick, so spooled records go where the wrapper's go.
// A changed state_dir is only reported: the plugin's records and marks live
// there, and it moves them on a restart. The caller holds p.mu.
func (p *Plugin) refreshNode() {
	node, err := p.settings.Resolve()
	if err != nil {
		if msg := err.Error(); msg != p.nodeErr {
			p.log.WithError(err).Warn("execguard node configuration unreadable; using its defaults where invalid")
			p.nodeErr = msg
		}
	} else {
		p.nodeErr = ""
	}
	if node.StateDir != p.node.StateDir {
		if p.movedStateDir != node.StateDir {
			p.log.WithFields(logrus.Fields{"state_dir": p.node.StateDir, "configured": node.StateDir}).
				Warn("state_dir changed in the configuration; the plugin keeps its own until it restarts")
			p.movedStateDir = node.StateDir
		}
		node.StateDir = p.node.StateDir
	}
	if node.EventLog != p.node.EventLog {
		p.log.WithFields(logrus.Fields{"event_log": node.EventLog, "was": p.node.EventLog}).Info("event_log changed in the configuration")
	}
	p.node = node
	p.docs.cluster = detect.Cluster{ID: node.ClusterID, Name: node.ClusterName}
	p.docs.namespace = node.Namespace
	p.docs.redactor = node.Redactor
}

// written counts a document written (or not) and reports whether it was.
func (p *Plugin) written(kind, action string, err error) bool {
	if err != nil {
		p.metrics.written.WithLabelValues(kind, action, "error").Inc()
		p.lastErr = err.Error()
		p.log.WithError(err).WithField("action", action).Error("event not written")
		return false
	}
	p.metrics.written.WithLabelValues(kind, action, "ok").Inc()
	return true
}

// stateErr counts a state directory failure and passes err on.
func (p *Plugin) stateErr(err error) error {
	if err != nil {
		p.metrics.stateErrs.Inc()
		p.lastErr = err.Error()
	}
	return err
}

// counts are the container gauges' values.
func (p *Plugin) counts() (indexed, covered, uncovered int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.ctrs {
		if e.state != api.ContainerState_CONTAINER_RUNNING {
			continue
		}
		switch e.coverage {
		case coverageCovered:
			covered++
		case coverageUncovered:
			uncovered++
		}
	}
	return len(p.ctrs), covered, uncovered
}

// loadHints reads what a previous run left in status.json, once for each
// state directory, before this run writes its own status there.
func (p *Plugin) loadHints() {
	if p.hintsDir == p.node.StateDir {
		return
	}
	p.hintsDir = p.node.StateDir
	p.hintAlerted = map[string]time.Time{}
	p.hintSession = map[string]SessionInfo{}
	st, ok, err := ReadStatus(p.node.StateDir)
	if err != nil {
		p.log.WithError(err).Warn("previous status unreadable")
	}
	if !ok {
		return
	}
	for _, u := range st.Uncovered {
		if !u.Alerted.IsZero() {
			p.hintAlerted[u.ID] = u.Alerted
		}
	}
	for _, s := range st.Sessions {
		p.hintSession[s.ID] = s
	}
}

// Status is the plugin's current status.
func (p *Plugin) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.statusLocked()
}

func (p *Plugin) statusLocked() Status {
	s := Status{
		PID: os.Getpid(), Mode: p.mode, Started: p.started, Updated: time.Now(),
		Connected: p.connected, Synchronized: p.synced, Runtime: p.runtime, LastError: p.lastErr,
		StateDir: p.node.StateDir, EventLog: p.node.EventLog,
		Pods: len(p.pods), Containers: len(p.ctrs),
		Covered: []string{}, Uncovered: []UncoveredInfo{},
	}
	if p.conns > 1 {
		s.Reconnects = p.conns - 1
	}
	for id, e := range p.ctrs {
		if e.start != nil && e.start.Interactive {
			s.Sessions = append(s.Sessions, SessionInfo{ID: id, startInfo: *e.start, Ended: e.ended})
		}
		if e.state != api.ContainerState_CONTAINER_RUNNING {
			continue
		}
		switch e.coverage {
		case coverageCovered:
			s.Covered = append(s.Covered, id)
		case coverageUncovered:
			s.Uncovered = append(s.Uncovered, UncoveredInfo{
				ID: id, Name: e.rec.Name, Pod: e.rec.PodName, Namespace: e.rec.PodNamespace,
				RuntimeHandler: e.rec.RuntimeHandler, Image: e.rec.Image, Since: e.since, Alerted: e.alerted,
			})
		}
	}
	sort.Strings(s.Covered)
	sort.Slice(s.Uncovered, func(i, j int) bool { return s.Uncovered[i].ID < s.Uncovered[j].ID })
	sort.Slice(s.Sessions, func(i, j int) bool { return s.Sessions[i].ID < s.Sessions[j].ID })
	return s
}

func (p *Plugin) kickStatus() {
	select {
	case p.statusKick <- struct{}{}:
	default:
	}
}

// statusLoop rewrites status.json after changes, at most every interval,
// and a last time when ctx ends.
func (p *Plugin) statusLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	write := func() {
		p.mu.Lock()
		s, dir := p.statusLocked(), p.node.StateDir
		// A launched plugin learns its state directory from the runtime's
		// Configure: nothing to write before.
		early := p.mode == "pre-registered" && p.conns == 0
		p.mu.Unlock()
		if early {
			return
		}
		if err := WriteStatus(dir, s); err != nil {
			p.metrics.stateErrs.Inc()
			p.log.WithError(err).Error("status not written")
		}
	}
	write()
	for {
		select {
		case <-ctx.Done():
			p.mu.Lock()
			p.connected = false
			p.mu.Unlock()
			write()
			return
		case <-p.statusKick:
		}
		write()
		interval := time.Duration(p.Settings().StatusInterval)
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
	}
}

// startMetrics serves /metrics once an address is configured. The caller
// holds p.mu.
func (p *Plugin) startMetrics() {
	if p.metricsOn != nil || p.settings.MetricsAddress == "" {
		return
	}
	addr, err := p.metrics.serve(p.ctx, p.settings.MetricsAddress)
	if err != nil {
		p.lastErr = err.Error()
		p.log.WithError(err).Error("metrics not served")
		return
	}
	p.metricsOn = addr
	p.log.WithField("address", addr.String()).Info("serving metrics on /metrics")
}

// MetricsAddr is where /metrics is served; nil when it is not.
func (p *Plugin) MetricsAddr() net.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.metricsOn
}

// closeLog closes a configured log file.
func (p *Plugin) closeLog() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.logFile != nil {
		p.log.SetOutput(io.Discard)
		p.logFile.Close()
		p.logFile = nil
	}
}
