package install

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect/policy"
	"github.com/execguard/execguard/detect/policy/policyfile"
	"github.com/execguard/execguard/eventlog"
	"github.com/execguard/execguard/eventview"
	"github.com/execguard/execguard/install/containerd"
	"github.com/execguard/execguard/install/crio"
	"github.com/execguard/execguard/install/fsplan"
	"github.com/execguard/execguard/install/tomledit"
	"github.com/execguard/execguard/internal/diaglog"
	"github.com/execguard/execguard/plugin"
	"github.com/execguard/execguard/state"
)

// Status is how the node stands.
type Status struct {
	Installed bool           `json:"installed"` // install's manifest exists
	Manifest  string         `json:"manifest"`
	Engines   []EngineStatus `json:"engines"`
	// Shim is execguard's containerd shim, when a handler runs it or it is
	// installed.
	Shim     *ShimStatus  `json:"shim,omitempty"`
	Plugin   PluginStatus `json:"plugin"`
	Policy   PolicyStatus `json:"policy"`
	EventLog FileStatus   `json:"event_log"`
	// Events accounts for the records the configured log could not take.
	Events EventAccounting `json:"events"`
	// Diagnostics is the end of the wrapper's diagnostics file, where its
	// warnings go for calls that name no runtime log.
	Diagnostics DiagnosticsStatus `json:"diagnostics"`
	// Problems are what keeps execguard from seeing every exec.
	Problems []string `json:"problems"`
	// Warnings are what keeps its events from showing where they should,
	// without any exec going unseen.
	Warnings []string `json:"warnings,omitempty"`
}

// EventAccounting: records spooled (the log could not take them),
// replayed from the spool into the log, still waiting there, and lost.
type EventAccounting struct {
	Spooled  int64 `json:"spooled"`
	Replayed int64 `json:"replayed"`
	Pending  int   `json:"pending"`
	Lost     int64 `json:"lost"`
}

// DiagnosticsStatus is the wrapper's diagnostics file and its last lines.
type DiagnosticsStatus struct {
	Path  string   `json:"path"`
	Tail  []string `json:"tail,omitempty"`
	Error string   `json:"error,omitempty"`
}

// diagnosticsTail is how many lines of the diagnostics file status shows.
const diagnosticsTail = 5

// OK reports whether nothing is wrong.
func (s Status) OK() bool { return len(s.Problems) == 0 }

// EngineStatus is one container engine.
type EngineStatus struct {
	Name          string          `json:"name"`
	Version       string          `json:"version,omitempty"`
	Config        string          `json:"config"`
	ConfigVersion int             `json:"config_version,omitempty"`
	DropIn        string          `json:"drop_in"`
	DropInActive  bool            `json:"drop_in_active"`
	Handlers      []HandlerStatus `json:"handlers"`
	NRI           NRIStatus       `json:"nri"`
	Stale         []string        `json:"stale,omitempty"`
	// Tasks counts the containerd containers running now by what they run
	// on, from their bundles (nil when they cannot be read).
	Tasks *TaskCounts `json:"tasks,omitempty"`
	Error string      `json:"error,omitempty"`
}

// TaskCounts: containers (not pod sandboxes) on execguard's shim, through
// the wrapper (the runc shim's BinaryName), and on neither.
type TaskCounts struct {
	Shim    int `json:"shim"`
	Wrapper int `json:"wrapper"`
	Neither int `json:"neither"`
}

// Configured reports whether at least one handler runs execguard.
func (e EngineStatus) Configured() bool {
	for _, h := range e.Handlers {
		if h.Wrapped || h.Front == FrontShim {
			return true
		}
	}
	return false
}

// frontBoth is a handler that runs the shim with the wrapper as its
// BinaryName: every exec would be recorded twice.
const frontBoth Front = "shim+wrapper"

// HandlerStatus is one runtime handler.
type HandlerStatus struct {
	Name    string `json:"name"`
	Type    string `json:"type,omitempty"`  // runtime_type (containerd)
	Runtime string `json:"runtime"`         // BinaryName / runtime_path in effect ("" = default)
	Real    string `json:"real,omitempty"`  // the real runtime: what the wrapper runs, from [runtimes], or the shim's BinaryName
	Wrapped bool   `json:"wrapped"`         // BinaryName / runtime_path is the wrapper
	Front   Front  `json:"front,omitempty"` // shim, wrapper, shim+wrapper, or "" (neither)
	Shim    string `json:"shim,omitempty"`  // the shim binary containerd starts, with the shim front
	Note    string `json:"note,omitempty"`
}

// NRIStatus is the engine's NRI configuration.
type NRIStatus struct {
	Enabled       bool   `json:"enabled"`
	Socket        string `json:"socket"`
	SocketPresent bool   `json:"socket_present"`
	PluginPath    string `json:"plugin_path"`
	Registered    string `json:"registered,omitempty"` // the pre-registered plugin's path, if there
}

// PluginStatus is what the NRI plugin reports in its status file.
type PluginStatus struct {
	StatusFile string   `json:"status_file"`
	Known      bool     `json:"known"` // the status file exists
	Mode       string   `json:"mode,omitempty"`
	PID        int      `json:"pid,omitempty"`
	Running    bool     `json:"running"`
	Connected  bool     `json:"connected"`
	Runtime    string   `json:"runtime,omitempty"`
	Covered    int      `json:"covered"`
	Containers int      `json:"containers"` // running ones the plugin knows
	Uncovered  []string `json:"uncovered,omitempty"`
	LastError  string   `json:"last_error,omitempty"`
}

// PolicyStatus is the policy in force.
type PolicyStatus struct {
	Path     string `json:"path,omitempty"` // "" = built-in default
	Revision string `json:"revision,omitempty"`
	Loaded   bool   `json:"loaded"`
	Error    string `json:"error,omitempty"`
}

// FileStatus says whether a file can be written.
type FileStatus struct {
	Path     string `json:"path"`
	Writable bool   `json:"writable"`
	Error    string `json:"error,omitempty"`
	// Warning: the file's directory is not safe to keep it in.
	Warning string `json:"warning,omitempty"`
}

// GetStatus inspects the node. It writes nothing.
func GetStatus(opts Options) (Status, error) {
	opts, err := opts.normalized()
	if err != nil {
		return Status{}, err
	}
	host := fsplan.Host{Root: opts.Root}
	st := Status{}
	store := fsplan.Store{Host: host, Dir: opts.Backup}
	st.Manifest = store.ManifestPath()
	if _, ok, err := store.Load(); err != nil {
		st.Problems = append(st.Problems, err.Error())
	} else {
		st.Installed = ok
	}

	cfg, cfgErr := config.Load(host.Local(opts.Config))
	if cfgErr != nil {
		st.Problems = append(st.Problems, fmt.Sprintf("execguard config: %v", cfgErr))
	}
	if cfg.ClusterID == "" {
		st.Warnings = append(st.Warnings, ClusterIDWarning)
	}
	in := &installer{opts: opts, host: host, cfg: cfg}
	engines, err := in.detectEngines()
	if err != nil {
		st.Problems = append(st.Problems, err.Error())
	}
	for _, e := range engines {
		var es EngineStatus
		switch e {
		case Containerd:
			es = containerdStatus(in)
		case CRIO:
			es = crioStatus(in)
		}
		st.Engines = append(st.Engines, es)
		switch {
		case es.Error != "":
			st.Problems = append(st.Problems, fmt.Sprintf("%s: %s", e, es.Error))
		case !es.Configured():
			st.Problems = append(st.Problems, fmt.Sprintf("%s: no runtime handler runs execguard (neither its shim nor the wrapper)", e))
		}
		if es.Error == "" && !es.NRI.Enabled {
			st.Problems = append(st.Problems, fmt.Sprintf("%s: NRI is disabled", e))
		}
		if len(es.Stale) > 0 {
			st.Problems = append(st.Problems, fmt.Sprintf("%s: the drop-in's copy of your settings is out of date (%s): run execguard install again", e, strings.Join(es.Stale, ", ")))
		}
		for _, h := range es.Handlers {
			if h.Wrapped && h.Real == "" {
				st.Problems = append(st.Problems, fmt.Sprintf("%s handler %s runs %s, but %s has no real runtime for it", e, h.Name, h.Runtime, opts.Config))
			}
			if h.Front == frontBoth {
				st.Problems = append(st.Problems, fmt.Sprintf("%s handler %s runs execguard's shim with the wrapper as its BinaryName: every exec is recorded twice (execguard install sets the real runtime)", e, h.Name))
			}
			if (h.Front == FrontShim || h.Front == frontBoth) && !host.Exists(h.Shim) {
				st.Problems = append(st.Problems, fmt.Sprintf("%s handler %s runs execguard's shim %s, which is not there: containerd cannot start its pods", e, h.Name, h.Shim))
			}
		}
	}
	if shimUsed(st.Engines) || host.Exists(opts.Shim) {
		s := shimStatus(host, opts.Shim)
		st.Shim = &s
	}

	for _, dir := range []string{opts.WrapperDir, opts.CRIOWrapperDir} {
		if beside := filepath.Join(dir, config.BesideWrapper); beside != opts.Config && host.Exists(beside) {
			st.Problems = append(st.Problems, fmt.Sprintf("%s exists: wrappers in %s read it, not %s", beside, dir, opts.Config))
		}
	}

	st.Plugin = pluginStatus(host, cfg)
	switch {
	case !st.Plugin.Known:
		st.Problems = append(st.Problems, "plugin: unknown (no status file at "+st.Plugin.StatusFile+")")
	case !st.Plugin.Running:
		st.Problems = append(st.Problems, fmt.Sprintf("plugin: not running (pid %d gone)", st.Plugin.PID))
	case !st.Plugin.Connected:
		st.Problems = append(st.Problems, "plugin: running but not connected to the runtime")
	case len(st.Plugin.Uncovered) > 0:
		st.Problems = append(st.Problems, fmt.Sprintf("%d running container(s) run neither on execguard's shim nor through the wrapper: %s", len(st.Plugin.Uncovered), summarize(st.Plugin.Uncovered, 5)))
	}

	st.Policy = policyStatus(host, opts.Config)
	if !st.Policy.Loaded {
		st.Problems = append(st.Problems, "policy: "+st.Policy.Error)
	}
	st.EventLog = writable(host, cfg.EventLog)
	if !st.EventLog.Writable {
		st.Problems = append(st.Problems, "event log: "+st.EventLog.Error)
	}
	for _, check := range []func(string) error{eventlog.CheckFile, eventlog.CheckDir} {
		if err := check(host.Local(cfg.EventLog)); err != nil {
			st.EventLog.Warning = err.Error()
			st.Problems = append(st.Problems, err.Error())
		}
	}
	st.Problems = append(st.Problems, unsafeStateDirs(host.Local(cfg.StateDir), cfg.StateDir)...)
	if c, err := state.ReadCounters(host.Local(cfg.StateDir)); err == nil {
		st.Events = EventAccounting{Spooled: c.Spooled, Replayed: c.Replayed, Lost: c.Lost}
	}
	st.Events.Pending, _ = eventlog.Pending(host.Local(cfg.StateDir))
	if st.Events.Pending > 0 {
		st.Problems = append(st.Problems, fmt.Sprintf("%d event(s) spooled under %s wait for the event log", st.Events.Pending, cfg.StateDir))
	}
	if st.Events.Lost > 0 {
		st.Problems = append(st.Problems, fmt.Sprintf("%d event(s) lost: neither the event log nor the spool could take them", st.Events.Lost))
	}
	st.Diagnostics = DiagnosticsStatus{Path: diaglog.Path(cfg.StateDir)}
	if tail, err := diaglog.Tail(host.Local(cfg.StateDir), diagnosticsTail); err != nil {
		st.Diagnostics.Error = err.Error()
		st.Problems = append(st.Problems, "wrapper diagnostics: "+err.Error())
	} else {
		st.Diagnostics.Tail = tail
	}
	return st, nil
}

func (in *installer) wrapped(runtime string) (name string, ok bool) {
	name, ok = in.isWrapper(runtime)
	if !ok {
		return "", false
	}
	// The link must exist and lead to the wrapper binary.
	real, err := in.host.Resolve(runtime)
	if err != nil || real != in.opts.Wrapper || !in.host.Exists(runtime) {
		return name, false
	}
	return name, true
}

func containerdStatus(in *installer) EngineStatus {
	es := EngineStatus{Name: Containerd, Config: in.opts.ContainerdConfig, DropIn: in.opts.ContainerdDropIn}
	major := in.opts.ContainerdMajor
	if b, err := containerd.DetectBinary(in.host, in.opts.ContainerdBinary); err == nil {
		es.Version = b.Version
		if major == 0 {
			major = b.Major
		}
	}
	src := containerd.Source{Host: in.host, Path: in.opts.ContainerdConfig, DropIn: in.opts.ContainerdDropIn, Major: major}
	c, err := containerd.Load(src)
	if err != nil {
		es.Error = err.Error()
		return es
	}
	es.ConfigVersion = c.Version
	es.DropInActive = c.DropInImported && in.host.Exists(c.DropIn)
	for _, h := range c.Handlers() {
		hs := HandlerStatus{Name: h.Name, Type: h.Type, Runtime: h.BinaryName}
		if !h.RuncType() {
			hs.Note = "not runc-based (" + h.Type + ")"
			es.Handlers = append(es.Handlers, hs)
			continue
		}
		name, wrapped := in.wrapped(h.BinaryName)
		if wrapped {
			hs.Wrapped = true
			hs.Front = FrontWrapper
			hs.Real = in.cfg.Runtimes[name]
		} else if name != "" {
			hs.Note = "wrapper link missing or not leading to " + in.opts.Wrapper
		}
		if in.isShim(h) {
			hs.Shim = handlerShim(in.host, h)
			hs.Front = FrontShim
			if wrapped {
				hs.Front = frontBoth
			} else {
				hs.Real = h.BinaryName
				if hs.Real == "" {
					hs.Real, _ = in.host.LookPath("runc")
				}
			}
		}
		es.Handlers = append(es.Handlers, hs)
	}
	if tasks, err := containerd.Tasks(in.host, c.StateDir()); err == nil {
		tc := &TaskCounts{}
		for _, t := range tasks {
			if t.Sandbox {
				continue // pause containers: the plugin does not count them either
			}
			switch _, wrapped := in.wrapped(t.BinaryName); {
			case t.Shim != "" && (t.Shim == in.opts.Shim || filepath.Base(t.Shim) == containerd.ShimBinary):
				tc.Shim++
			case wrapped:
				tc.Wrapper++
			default:
				tc.Neither++
			}
		}
		es.Tasks = tc
	}
	n := c.NRI()
	es.NRI = nriStatus(in, n.Enabled, n.Socket, n.PluginPath)
	if es.DropInActive {
		src.SkipDropIn = true
		if user, err := containerd.Load(src); err == nil {
			if data, err := os.ReadFile(in.host.Local(c.DropIn)); err == nil {
				es.Stale, _ = user.Stale(data)
			}
		}
	}
	return es
}

func crioStatus(in *installer) EngineStatus {
	src := crio.Source{Host: in.host, Path: in.opts.CRIOConfig, DropInDir: in.opts.CRIODropInDir}
	es := EngineStatus{Name: CRIO, Config: in.opts.CRIOConfig, DropIn: src.DropIn()}
	c, err := crio.Load(src)
	if err != nil {
		es.Error = err.Error()
		return es
	}
	es.DropInActive = in.host.Exists(src.DropIn())
	for _, h := range c.Handlers() {
		hs := HandlerStatus{Name: h.Name, Runtime: h.RuntimePath()}
		if name, ok := in.wrapped(h.RuntimePath()); ok {
			hs.Wrapped = true
			hs.Front = FrontWrapper
			hs.Real = in.cfg.Runtimes[name]
		} else if h.Type() == "vm" {
			hs.Note = "VM runtime"
		}
		es.Handlers = append(es.Handlers, hs)
	}
	n := c.NRI()
	es.NRI = nriStatus(in, n.Enabled, n.Socket, n.PluginPath)
	if es.DropInActive {
		src.SkipDropIn = true
		if user, err := crio.Load(src); err == nil {
			if data, err := os.ReadFile(in.host.Local(src.DropIn())); err == nil {
				es.Stale, _ = user.Stale(data)
			}
		}
	}
	return es
}

func nriStatus(in *installer, enabled bool, socket, pluginPath string) NRIStatus {
	n := NRIStatus{Enabled: enabled, Socket: socket, PluginPath: pluginPath}
	if fi, err := os.Lstat(in.host.Local(socket)); err == nil && fi.Mode()&fs.ModeSocket != 0 {
		n.SocketPresent = true
	}
	if p := filepath.Join(pluginPath, in.opts.NRIIndex+"-"+PluginName); in.host.Exists(p) {
		n.Registered = p
	}
	return n
}

func pluginStatus(host fsplan.Host, cfg config.Config) PluginStatus {
	ps := PluginStatus{StatusFile: plugin.StatusPath(cfg.StateDir)}
	s, ok, err := plugin.ReadStatus(host.Local(cfg.StateDir))
	if err != nil {
		ps.LastError = err.Error()
		return ps
	}
	if !ok {
		return ps
	}
	ps.Known = true
	ps.Mode = s.Mode
	ps.PID = s.PID
	ps.Running = s.Alive()
	ps.Connected = ps.Running && s.Connected
	ps.Runtime = strings.TrimSpace(s.Runtime.Name + " " + s.Runtime.Version)
	ps.Covered = len(s.Covered)
	ps.Containers = len(s.Covered) + len(s.Uncovered)
	for _, u := range s.Uncovered {
		ps.Uncovered = append(ps.Uncovered, fmt.Sprintf("%.13s (%s/%s)", u.ID, u.Namespace, u.Pod))
	}
	ps.LastError = s.LastError
	return ps
}

// policyStatus loads the policy the configuration names ("policy" key),
// or the built-in default.
func policyStatus(host fsplan.Host, configPath string) PolicyStatus {
	ps := PolicyStatus{}
	if st, err := host.Read(configPath); err == nil && st.Kind == fsplan.File {
		if tree, err := tomledit.Parse(configPath, st.Data); err == nil {
			ps.Path, _ = tree["policy"].(string)
		}
	}
	if ps.Path == "" {
		p := policy.Default()
		ps.Loaded, ps.Revision = true, p.Revision()
		return ps
	}
	p, err := policyfile.Load(host.Local(ps.Path))
	if err != nil {
		ps.Error = err.Error()
		return ps
	}
	ps.Loaded, ps.Revision = true, p.Revision()
	return ps
}

// writable checks, without writing, that the file at p can be appended
// to or created.
func writable(host fsplan.Host, p string) FileStatus {
	fs := FileStatus{Path: p}
	err := unix.Access(host.Local(p), unix.W_OK)
	switch {
	case err == nil:
		fs.Writable = true
	case errors.Is(err, unix.ENOENT):
		if err := host.Writable(p); err != nil {
			fs.Error = err.Error()
		} else {
			fs.Writable = true
		}
	default:
		fs.Error = fmt.Sprintf("%s: %v", p, err)
	}
	return fs
}

func orDefault(s string) string {
	if s == "" {
		return "(default)"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Text renders the status for a terminal.
// ClusterIDWarning says why cluster_id matters. A node cannot read the
// kube-system namespace's UID without asking the API server, and no decision
// waits on a network call, so it is configured.
const ClusterIDWarning = "cluster_id is not set: events carry no orchestrator.cluster.id, and Kibana's Kubernetes page shows none of them; set it to the cluster's kube-system namespace UID (kubectl get namespace kube-system -o jsonpath='{.metadata.uid}')"

func (s Status) Text() string {
	var b strings.Builder
	yes := map[bool]string{true: "yes", false: "no"}
	fmt.Fprintf(&b, "installed:   %s (manifest %s)\n", yes[s.Installed], s.Manifest)
	for _, e := range s.Engines {
		fmt.Fprintf(&b, "%-12s ", e.Name+":")
		if e.Version != "" {
			fmt.Fprintf(&b, "%s, ", e.Version)
		}
		fmt.Fprintf(&b, "config %s", e.Config)
		if e.ConfigVersion > 0 {
			fmt.Fprintf(&b, " (version %d)", e.ConfigVersion)
		}
		fmt.Fprintf(&b, ", drop-in %s %s\n", e.DropIn, map[bool]string{true: "active", false: "not active"}[e.DropInActive])
		if e.Error != "" {
			fmt.Fprintf(&b, "  error: %s\n", e.Error)
			continue
		}
		for _, h := range e.Handlers {
			rt := h.Runtime
			if rt == "" {
				rt = "(default)"
			}
			switch {
			case h.Front == FrontShim:
				fmt.Fprintf(&b, "  handler %s: shim %s (%s) -> %s (shim front)\n", h.Name, h.Shim, h.Type, orDefault(h.Real))
			case h.Front == frontBoth:
				fmt.Fprintf(&b, "  handler %s: shim %s (%s) -> %s -> %s (shim AND wrapper: every exec twice)\n", h.Name, h.Shim, h.Type, rt, h.Real)
			case h.Wrapped:
				fmt.Fprintf(&b, "  handler %s: %s -> %s (wrapper front)\n", h.Name, rt, h.Real)
			case h.Note != "":
				fmt.Fprintf(&b, "  handler %s: %s (not wrapped: %s)\n", h.Name, rt, h.Note)
			default:
				fmt.Fprintf(&b, "  handler %s: %s (not wrapped)\n", h.Name, rt)
			}
		}
		if t := e.Tasks; t != nil {
			fmt.Fprintf(&b, "  containers: %d on execguard's shim, %d through the wrapper, %d on neither\n", t.Shim, t.Wrapper, t.Neither)
		}
		sock := "absent"
		if e.NRI.SocketPresent {
			sock = "present"
		}
		fmt.Fprintf(&b, "  NRI: %s, socket %s (%s)", map[bool]string{true: "enabled", false: "disabled"}[e.NRI.Enabled], e.NRI.Socket, sock)
		if e.NRI.Registered != "" {
			fmt.Fprintf(&b, ", plugin pre-registered at %s", e.NRI.Registered)
		}
		b.WriteString("\n")
	}
	if sh := s.Shim; sh != nil {
		if !sh.Installed {
			fmt.Fprintf(&b, "shim:        %s not installed\n", sh.Path)
		} else {
			fmt.Fprintf(&b, "shim:        %s, execguard %s, containerd library %s, %s\n", sh.Path, orUnknown(sh.Execguard), orUnknown(sh.Containerd), orUnknown(sh.GoVersion))
			if sh.Version != "" {
				fmt.Fprintf(&b, "  -v: %s\n", sh.Version)
			}
			if sh.Error != "" {
				fmt.Fprintf(&b, "  (%s)\n", sh.Error)
			}
		}
		fmt.Fprintf(&b, "  built on containerd %s, tested with containerd %s", sh.BuiltAgainst, strings.Join(sh.TestedWith, " and "))
		for _, e := range s.Engines {
			if e.Name == Containerd && e.Version != "" && !testedWith(e.Version) {
				fmt.Fprintf(&b, "; this node runs containerd %s, not tested", e.Version)
			}
		}
		b.WriteString("\n")
	}
	p := s.Plugin
	switch {
	case !p.Known:
		fmt.Fprintf(&b, "plugin:      unknown (no status file at %s)\n", p.StatusFile)
	default:
		state := "connected"
		if !p.Running {
			state = "not running"
		} else if !p.Connected {
			state = "running, not connected"
		}
		fmt.Fprintf(&b, "plugin:      %s (%s, pid %d", state, p.Mode, p.PID)
		if p.Runtime != "" {
			fmt.Fprintf(&b, ", %s", p.Runtime)
		}
		b.WriteString(")\n")
		fmt.Fprintf(&b, "coverage:    execguard covers %d of %d running containers (covered: run by execguard's shim, or their runtime calls carry the wrapper's mark)\n", p.Covered, p.Containers)
	}
	if s.Policy.Loaded {
		src := s.Policy.Path
		if src == "" {
			src = "built-in default"
		}
		fmt.Fprintf(&b, "policy:      %s, revision %s\n", src, s.Policy.Revision)
	} else {
		fmt.Fprintf(&b, "policy:      not loaded: %s\n", s.Policy.Error)
	}
	if s.EventLog.Writable && s.EventLog.Warning != "" {
		fmt.Fprintf(&b, "event log:   %s (writable, but: %s)\n", s.EventLog.Path, s.EventLog.Warning)
	} else if s.EventLog.Writable {
		fmt.Fprintf(&b, "event log:   %s (writable)\n", s.EventLog.Path)
	} else {
		fmt.Fprintf(&b, "event log:   %s (NOT writable: %s)\n", s.EventLog.Path, s.EventLog.Error)
	}
	fmt.Fprintf(&b, "events:      %d spooled, %d replayed, %d waiting, %d lost\n", s.Events.Spooled, s.Events.Replayed, s.Events.Pending, s.Events.Lost)
	switch d := s.Diagnostics; {
	case d.Error != "":
		fmt.Fprintf(&b, "diagnostics: %s (unreadable: %s)\n", d.Path, eventview.Escape(d.Error))
	case len(d.Tail) == 0:
		fmt.Fprintf(&b, "diagnostics: %s (none)\n", d.Path)
	default:
		fmt.Fprintf(&b, "diagnostics: %s, last %d:\n", d.Path, len(d.Tail))
		for _, l := range d.Tail {
			fmt.Fprintf(&b, "  %s\n", eventview.Escape(l))
		}
	}
	if len(s.Warnings) > 0 {
		b.WriteString("warnings:\n")
		for _, w := range s.Warnings {
			fmt.Fprintf(&b, "  - %s\n", w)
		}
	}
	if len(s.Problems) > 0 {
		b.WriteString("problems:\n")
		for _, pr := range s.Problems {
			fmt.Fprintf(&b, "  - %s\n", pr)
		}
	} else {
		b.WriteString("ok\n")
	}
	return b.String()
}

// stateSubdirs are the directories under the state directory whose files
// execguard takes facts and records from.
var stateSubdirs = []string{"", "containers", "covered", "policy", "spool", "counters"}

// unsafeStateDirs names the state directory and its subdirectories that
// another user owns or may write: such a user cannot forge what execguard
// reads (every file is checked), but can remove it: a container's record
// (its pod labels, and a policy's label conditions with them), a coverage
// mark, a spooled event.
func unsafeStateDirs(local, shown string) []string {
	var out []string
	for _, sub := range stateSubdirs {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(local, sub), &st); err != nil {
			continue
		}
		name := filepath.Join(shown, sub)
		switch {
		case st.Mode&unix.S_IFMT != unix.S_IFDIR:
			out = append(out, fmt.Sprintf("state directory %s is not a directory (a link or a file)", name))
		case st.Uid != 0 && int(st.Uid) != os.Geteuid():
			out = append(out, fmt.Sprintf("state directory %s is owned by uid %d, not root: its owner could remove container records, coverage marks and spooled events", name, st.Uid))
		case st.Mode&0o022 != 0:
			out = append(out, fmt.Sprintf("state directory %s is writable by group or others (mode %04o): they could remove container records, coverage marks and spooled events; make it 0750 or stricter", name, st.Mode&0o7777))
		}
	}
	return out
}
