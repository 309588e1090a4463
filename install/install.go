package install

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect/policy/policyfile"
	"github.com/execguard/execguard/install/containerd"
	"github.com/execguard/execguard/install/crio"
	"github.com/execguard/execguard/install/fsplan"
	"github.com/execguard/execguard/install/tomledit"
)

// NRIMode says how the NRI plugin runs.
type NRIMode string

const (
	// NRIPreregistered copies the plugin into the runtime's NRI plugin
	// directory as <index>-execguard; the runtime starts it.
	NRIPreregistered NRIMode = "preregistered"
	// NRISystemd installs the plugin as a daemon with a systemd unit.
	NRISystemd NRIMode = "systemd"
	// NRIExternal leaves running the plugin to someone else (the
	// Kubernetes DaemonSet) and only makes sure NRI accepts it.
	NRIExternal NRIMode = "external"
	// NRINone registers no plugin.
	NRINone NRIMode = "none"
)

// Front is how execguard sees a containerd handler's execs.
type Front string

const (
	// FrontAuto is the shim for containerd and the wrapper for CRI-O.
	FrontAuto Front = "auto"
	// FrontShim runs containerd's runc handlers on execguard's shim
	// (containerd-shim-execguard-v2), which decides execs itself; the
	// handlers' BinaryName is the real runtime.
	FrontShim Front = "shim"
	// FrontWrapper keeps containerd's runc shim and points its BinaryName
	// at the wrapper, which every OCI runtime call then goes through.
	FrontWrapper Front = "wrapper"
)

// Engine names.
const (
	Containerd = "containerd"
	CRIO       = "crio"
)

// Groups name what a written path is for, in the manifest.
const (
	groupWrapper    = "wrapper"
	groupConfig     = "execguard-config"
	groupContainerd = "containerd"
	groupCRIO       = "crio"
	groupNRI        = "nri"
	groupShim       = "shim"
)

// PluginName is the NRI plugin's base name.
const PluginName = "execguard"

// Options say what to install where.
type Options struct {
	Paths
	// Engines to configure; empty: every one found on the node.
	Engines []string
	// Runtimes are the handler names to wire; empty: every runc-type
	// handler of containerd, runc and crun of CRI-O.
	Runtimes []string
	// NRI is how the plugin runs (default preregistered).
	NRI NRIMode
	// NRIIndex is the pre-registered plugin's index (default 10).
	NRIIndex string
	// Front is how containerd's handlers are wired (default auto: the shim;
	// CRI-O only has the wrapper).
	Front Front
	// ShimRuntimeType is the runtime_type the shim front gives a handler;
	// runtime_path starts execguard's shim either way. containerd.RuncV2
	// (the default) keeps containerd handing the shim the runc shim's typed
	// options and reading SystemdCgroup for the cgroup driver it reports to
	// the kubelet; for any other type containerd's CRI passes the options
	// as runtimeoptions.v1.Options with the TOML in ConfigBody, which a
	// shim must register and decode. containerd.ShimType names execguard's
	// shim in containerd's container records.
	ShimRuntimeType string
	// WrapperSource and PluginSource are the binaries to install (files of
	// this machine, not under Root).
	WrapperSource string
	PluginSource  string
	// ShimSource is the shim binary to install (the shim front).
	ShimSource string
	// PolicySource is a policy file to install at Paths.Policy and name in
	// the configuration (the DaemonSet's ConfigMap); "" leaves the policy
	// alone.
	PolicySource string
	// ContainerdMajor overrides the release line read from the binary.
	ContainerdMajor int
	// Force (uninstall) restores files changed since install and removes
	// wrappers that containers still use.
	Force bool
}

// DefaultSources returns the binaries to install: the wrapper beside the
// running executable (how release archives and the container image lay
// them out), and the running execguard executable itself, which is the NRI
// plugin too.
func DefaultSources() (wrapper, plugin string) {
	exe, err := os.Executable()
	if err != nil {
		return "", ""
	}
	dir := filepath.Dir(exe)
	return filepath.Join(dir, "execguard-runtime"), exe
}

// DefaultShimSource is the shim binary beside the running executable.
func DefaultShimSource() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(exe), containerd.ShimBinary)
}

// Wired is one handler execguard is put in front of.
type Wired struct {
	Engine  string `json:"engine"`
	Handler string `json:"handler"`
	Front   Front  `json:"front"`
	Wrapper string `json:"wrapper,omitempty"` // BinaryName / runtime_path (the wrapper front)
	Shim    string `json:"shim,omitempty"`    // runtime_path (the shim front)
	Runtime string `json:"runtime"`           // the real runtime
}

// Result is what an install or uninstall does or would do.
type Result struct {
	Plan  fsplan.Plan
	Wired []Wired
	// Notes are observations (a handler skipped and why).
	Notes []string
	// Next says what the user must do for the change to take effect.
	Next []string
	// Applied is true once the plan is on disk.
	Applied bool

	uninstall bool
}

// Report renders the result for a terminal; dryRun adds the diff.
func (r *Result) Report(dryRun bool) string {
	var b strings.Builder
	for _, w := range r.Wired {
		if w.Front == FrontShim {
			fmt.Fprintf(&b, "%s handler %s: shim %s -> %s\n", w.Engine, w.Handler, w.Shim, w.Runtime)
		} else {
			fmt.Fprintf(&b, "%s handler %s: %s -> %s\n", w.Engine, w.Handler, w.Wrapper, w.Runtime)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	switch {
	case r.Plan.Empty() && r.uninstall:
		b.WriteString("nothing to restore\n")
	case r.Plan.Empty():
		b.WriteString("nothing to change: execguard is already installed as requested\n")
	case dryRun:
		fmt.Fprintf(&b, "dry run: %d file(s) would change:\n\n%s\n", len(r.Plan.Steps), r.Plan.Diff())
	default:
		fmt.Fprintf(&b, "changed %d file(s):\n", len(r.Plan.Steps))
		for _, s := range r.Plan.Steps {
			fmt.Fprintf(&b, "  %s (%s)\n", s.Path, s.Why)
		}
	}
	if !r.Plan.Empty() && len(r.Next) > 0 {
		if dryRun {
			b.WriteString("after the change:\n")
		} else {
			b.WriteString("next:\n")
		}
		for _, n := range r.Next {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	return b.String()
}

var indexRE = regexp.MustCompile(`^[0-9]{2}$`)

func (o Options) normalized() (Options, error) {
	o.Paths = o.Paths.withDefaults()
	if o.NRI == "" {
		o.NRI = NRIPreregistered
	}
	switch o.NRI {
	case NRIPreregistered, NRISystemd, NRIExternal, NRINone:
	default:
		return o, fmt.Errorf("NRI mode %q: want preregistered, systemd, external or none", o.NRI)
	}
	if o.NRIIndex == "" {
		o.NRIIndex = "10"
	}
	if !indexRE.MatchString(o.NRIIndex) {
		return o, fmt.Errorf("NRI plugin index %q: want two digits", o.NRIIndex)
	}
	for _, e := range o.Engines {
		if e != Containerd && e != CRIO {
			return o, fmt.Errorf("engine %q: want containerd or crio", e)
		}
	}
	if o.Front == "" {
		o.Front = FrontAuto
	}
	switch o.Front {
	case FrontAuto, FrontShim, FrontWrapper:
	default:
		return o, fmt.Errorf("front %q: want auto, shim or wrapper", o.Front)
	}
	if o.Front == FrontShim && slices.Contains(o.Engines, CRIO) {
		return o, fmt.Errorf("--front shim: CRI-O has no shim front, only the wrapper (containerd-shim-execguard-v2 is a containerd shim); use --front wrapper or auto for crio")
	}
	if o.ShimRuntimeType == "" {
		o.ShimRuntimeType = containerd.RuncV2
	}
	if o.ShimRuntimeType != containerd.ShimType && o.ShimRuntimeType != containerd.RuncV2 {
		return o, fmt.Errorf("shim runtime type %q: want %s or %s", o.ShimRuntimeType, containerd.RuncV2, containerd.ShimType)
	}
	for _, p := range []string{o.Shim, o.Wrapper, o.WrapperDir, o.CRIOWrapperDir, o.Config, o.Policy, o.Backup, o.ContainerdConfig,
		o.ContainerdDropIn, o.CRIOConfig, o.CRIODropInDir, o.PluginBinary, o.SystemdUnit, o.PluginLog} {
		if !filepath.IsAbs(p) {
			return o, fmt.Errorf("path %q: want an absolute path", p)
		}
	}
	if st, err := os.Stat(o.Root); err != nil || !st.IsDir() {
		return o, fmt.Errorf("root %s: not a directory", o.Root)
	}
	return o, nil
}

// installer accumulates one plan.
type installer struct {
	opts    Options
	host    fsplan.Host
	cfg     config.Config // execguard's configuration as it is
	cfgData []byte
	cfgMode fs.FileMode
	cfgHave bool

	changes []fsplan.Change
	meta    map[string]fsplan.Meta
	// runtimes maps a wrapper name (execguard-<name>, or the CRI-O link's
	// base name) to the real runtime it stands for.
	runtimes map[string]string
	res      *Result
	// nriDirs are the plugin and configuration directories of the engines
	// configured, deduplicated.
	nriDirs [][2]string
	engines []string
	// handlers lists each engine's handlers, for errors.
	handlers []string
}

// Install plans and applies. With dryRun it stops after the plan.
func Install(opts Options, dryRun bool) (*Result, error) {
	in, err := newInstaller(opts)
	if err != nil {
		return nil, err
	}
	if err := in.plan(); err != nil {
		return nil, err
	}
	plan, err := in.host.Plan(in.changes)
	if err != nil {
		return nil, err
	}
	in.res.Plan = plan
	in.res.Next = in.next(plan)
	if dryRun || plan.Empty() {
		return in.res, nil
	}
	store := fsplan.Store{Host: in.host, Dir: in.opts.Backup}
	if err := store.Apply(plan, in.meta); err != nil {
		return in.res, err
	}
	in.res.Applied = true
	return in.res, nil
}

func newInstaller(opts Options) (*installer, error) {
	opts, err := opts.normalized()
	if err != nil {
		return nil, err
	}
	in := &installer{
		opts:     opts,
		host:     fsplan.Host{Root: opts.Root},
		meta:     map[string]fsplan.Meta{},
		runtimes: map[string]string{},
		res:      &Result{},
	}
	st, err := in.host.Read(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("execguard config: %w", err)
	}
	in.cfg = config.Default()
	in.cfgMode = 0o644
	if st.Kind == fsplan.File {
		in.cfgHave, in.cfgData, in.cfgMode = true, st.Data, st.Mode
		if in.cfg, err = config.Parse(opts.Config, st.Data); err != nil {
			return nil, fmt.Errorf("execguard %w (fix it first: nothing written)", err)
		}
	} else if st.Kind != fsplan.Absent {
		return nil, fmt.Errorf("execguard config %s: a %s, not a file", opts.Config, st.Kind)
	}
	return in, nil
}

func (in *installer) add(path string, want fsplan.State, why, group string) {
	in.changes = append(in.changes, fsplan.Change{Path: path, Want: want, Why: why})
	m := in.meta[path]
	m.Group = group
	in.meta[path] = m
}

func (in *installer) plan() error {
	engines, err := in.detectEngines()
	if err != nil {
		return err
	}
	in.engines = engines
	if in.opts.Front == FrontShim && slices.Contains(engines, CRIO) {
		return fmt.Errorf("--front shim: CRI-O was found on this node (%s or %s), and it has no shim front, only the wrapper; pass --engine containerd, or --front auto to wire CRI-O with the wrapper: nothing written",
			in.opts.CRIOConfig, in.opts.CRIODropInDir)
	}
	for _, e := range engines {
		var err error
		switch e {
		case Containerd:
			err = in.planContainerd()
		case CRIO:
			err = in.planCRIO()
		}
		if err != nil {
			return err
		}
	}
	for _, name := range in.opts.Runtimes {
		if !slices.ContainsFunc(in.res.Wired, func(w Wired) bool { return w.Handler == name }) {
			return fmt.Errorf("no runtime handler %q (%s): nothing written", name, strings.Join(in.handlers, "; "))
		}
	}
	if len(in.res.Wired) == 0 {
		return fmt.Errorf("no runtime handler to wire (%s): nothing written", strings.Join(in.handlers, "; "))
	}
	if err := in.planShim(); err != nil {
		return err
	}
	if err := in.planWrapper(); err != nil {
		return err
	}
	if err := in.planConfig(); err != nil {
		return err
	}
	return in.planNRI()
}

// detectEngines returns the engines asked for, or those found: a
// configuration file or a binary.
func (in *installer) detectEngines() ([]string, error) {
	if len(in.opts.Engines) > 0 {
		return slices.Compact(slices.Sorted(slices.Values(in.opts.Engines))), nil
	}
	var found []string
	if in.host.Exists(in.opts.ContainerdConfig) || in.binary(in.opts.ContainerdBinary, "containerd") {
		found = append(found, Containerd)
	}
	if in.host.Exists(in.opts.CRIOConfig) || in.host.Exists(in.opts.CRIODropInDir) || in.binary(in.opts.CRIOBinary, "crio") {
		found = append(found, CRIO)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("no container engine found: no %s, %s or %s, and neither containerd nor crio in %s (use --engine)",
			in.opts.ContainerdConfig, in.opts.CRIOConfig, in.opts.CRIODropInDir, fsplan.SystemPath)
	}
	return found, nil
}

func (in *installer) binary(path, name string) bool {
	if path != "" {
		return in.host.Exists(path)
	}
	_, err := in.host.LookPath(name)
	return err == nil
}

// isWrapper reports whether p is one of the installer's wrapper paths and
// returns the wrapper name it stands for.
func (in *installer) isWrapper(p string) (string, bool) {
	dir, base := filepath.Dir(p), filepath.Base(p)
	if dir == in.opts.WrapperDir && strings.HasPrefix(base, config.WrapperPrefix) {
		return strings.TrimPrefix(base, config.WrapperPrefix), true
	}
	if dir == in.opts.CRIOWrapperDir {
		return base, true
	}
	return "", false
}

// realRuntime resolves what a handler runs now. An empty current means
// the engine's default (name looked up in PATH); a current that is already
// a wrapper gives the path execguard's configuration records for it.
func (in *installer) realRuntime(what, current, fallback, source string) (string, error) {
	if current == "" {
		p, err := in.host.LookPath(fallback)
		if err != nil {
			return "", fmt.Errorf("%s: runtime binary not found: %v (%s)", what, err, source)
		}
		return p, nil
	}
	if name, ok := in.isWrapper(current); ok {
		real, ok := in.cfg.Runtimes[name]
		if !ok {
			return "", fmt.Errorf("%s: %s already is execguard's wrapper, but %s records no real runtime for %q", what, current, in.opts.Config, name)
		}
		current = real
	}
	p, err := in.host.LookPath(current)
	if err != nil {
		return "", fmt.Errorf("%s: runtime binary %v (%s)", what, err, source)
	}
	return p, nil
}

// wrapperName picks the name the wrapper is called by for real: the real
// runtime's base name, or the handler's name when that one is taken by
// another runtime.
func (in *installer) wrapperName(real, handler string) (string, error) {
	for _, name := range []string{filepath.Base(real), handler} {
		if name == "runtime" || name == "" {
			continue // execguard-runtime is the wrapper binary itself
		}
		if have, ok := in.runtimes[name]; !ok || have == real {
			in.runtimes[name] = real
			return name, nil
		}
	}
	return "", fmt.Errorf("handler %s: no free wrapper name for %s (%s and %s are taken by other runtimes)", handler, real, filepath.Base(real), handler)
}

func (in *installer) selected(name string) bool {
	return len(in.opts.Runtimes) == 0 || slices.Contains(in.opts.Runtimes, name)
}

func (in *installer) planContainerd() error {
	major := in.opts.ContainerdMajor
	var bin containerd.Binary
	if major == 0 {
		b, err := containerd.DetectBinary(in.host, in.opts.ContainerdBinary)
		if err != nil {
			in.res.Notes = append(in.res.Notes, fmt.Sprintf("%v; the configuration version decides (version 2 is written for containerd 1.x, which is right for 2.x too)", err))
		} else {
			bin, major = b, b.Major
		}
	}
	src := containerd.Source{Host: in.host, Path: in.opts.ContainerdConfig, DropIn: in.opts.ContainerdDropIn, Major: major, SkipDropIn: true}
	c, err := containerd.Load(src)
	if err != nil {
		return fmt.Errorf("%w: nothing written", err)
	}
	src.Major = c.Major
	if bin.Path != "" {
		in.res.Notes = append(in.res.Notes, fmt.Sprintf("%s, config %s version %d", bin, c.Path, c.Version))
	}
	source := "options.BinaryName in " + c.Path + " and its imports"
	handlers := c.Handlers()
	var names []string
	for _, h := range handlers {
		names = append(names, h.Name)
	}
	in.handlers = append(in.handlers, fmt.Sprintf("containerd: %s", strings.Join(names, ", ")))
	w := containerd.Wiring{Handlers: map[string]containerd.Set{}, AllowConnections: in.opts.NRI == NRIExternal || in.opts.NRI == NRISystemd}
	for _, h := range handlers {
		if !in.selected(h.Name) {
			continue
		}
		if !h.RuncType() {
			if len(in.opts.Runtimes) > 0 {
				return fmt.Errorf("containerd config %s: runtime handler %q has runtime_type %q; only %s handlers run a runc binary execguard can stand in for: nothing written", c.Path, h.Name, h.Type, containerd.RuncV2)
			}
			in.res.Notes = append(in.res.Notes, fmt.Sprintf("containerd handler %s (%s) is not runc-based: left alone, its execs are not seen", h.Name, h.Type))
			continue
		}
		what := fmt.Sprintf("containerd runtime handler %q", h.Name)
		if in.isShim(h) && in.opts.Front == FrontWrapper {
			return fmt.Errorf("%s already runs execguard's shim in %s itself (runtime_type %q, runtime_path %q): with the wrapper as well every exec would be recorded twice; take the shim out of that file or install with --front shim: nothing written",
				what, c.Path, h.Type, h.RuntimePath)
		}
		real, err := in.realRuntime(what, h.BinaryName, "runc", source)
		if err != nil {
			return fmt.Errorf("%w: nothing written", err)
		}
		if in.opts.Front == FrontWrapper {
			name, err := in.wrapperName(real, h.Name)
			if err != nil {
				return err
			}
			link := in.opts.wrapperLink(name)
			w.Handlers[h.Name] = containerd.Set{BinaryName: link}
			in.res.Wired = append(in.res.Wired, Wired{Engine: Containerd, Handler: h.Name, Front: FrontWrapper, Wrapper: link, Runtime: real})
			continue
		}
		// The shim decides execs itself: its runc must be the real one, so
		// a wrapper the user's own files name is replaced by what it stands
		// for; any other BinaryName stays as written.
		set := containerd.Set{RuntimeType: in.opts.ShimRuntimeType, RuntimePath: in.opts.Shim}
		if _, ok := in.isWrapper(h.BinaryName); ok {
			set.BinaryName = real
		}
		w.Handlers[h.Name] = set
		in.res.Wired = append(in.res.Wired, Wired{Engine: Containerd, Handler: h.Name, Front: FrontShim, Shim: in.opts.Shim, Runtime: real})
	}
	if len(w.Handlers) == 0 {
		return nil
	}
	dropIn, err := c.RenderDropIn(w)
	if err != nil {
		return err
	}
	main, inserted, err := c.RenderMain()
	if err != nil {
		return err
	}
	if err := containerd.Check(src, main, dropIn, w); err != nil {
		return fmt.Errorf("%w: nothing written", err)
	}
	in.add(c.Path, fsplan.State{Kind: fsplan.File, Data: main, Mode: modeOf(c.Main().Path, in.host, 0o644)},
		"import "+c.DropIn, groupContainerd)
	if inserted != "" {
		m := in.meta[c.Path]
		m.Inserted = inserted
		in.meta[c.Path] = m
	}
	in.add(c.DropIn, fsplan.State{Kind: fsplan.File, Data: dropIn, Mode: 0o644}, "runtime handlers and NRI", groupContainerd)
	n := c.NRI()
	in.addNRIDirs(n.PluginPath, n.PluginConfigPath)
	return nil
}

func modeOf(p string, h fsplan.Host, def fs.FileMode) fs.FileMode {
	if st, err := h.Read(p); err == nil && st.Kind == fsplan.File {
		return st.Mode
	}
	return def
}

func (in *installer) addNRIDirs(plugins, configs string) {
	d := [2]string{plugins, configs}
	if !slices.Contains(in.nriDirs, d) {
		in.nriDirs = append(in.nriDirs, d)
	}
}

func (in *installer) planCRIO() error {
	src := crio.Source{Host: in.host, Path: in.opts.CRIOConfig, DropInDir: in.opts.CRIODropInDir, SkipDropIn: true}
	c, err := crio.Load(src)
	if err != nil {
		return fmt.Errorf("%w: nothing written", err)
	}
	handlers := c.Handlers()
	byName := map[string]crio.Handler{}
	var names []string
	for _, h := range handlers {
		byName[h.Name] = h
		names = append(names, h.Name)
	}
	in.handlers = append(in.handlers, fmt.Sprintf("CRI-O: %s", strings.Join(names, ", ")))
	wanted := in.opts.Runtimes
	explicit := len(wanted) > 0
	if !explicit {
		wanted = []string{"crun", "runc"}
	}
	w := crio.Wiring{Paths: map[string]string{}, AllowConnections: in.opts.NRI == NRIExternal || in.opts.NRI == NRISystemd}
	for _, name := range wanted {
		h, ok := byName[name]
		if !ok {
			continue
		}
		origin := "CRI-O's built-in " + name + " handler"
		if !h.BuiltIn {
			origin = "runtime_path of [crio.runtime.runtimes." + name + "] in " + h.Origin
		}
		what := fmt.Sprintf("CRI-O runtime handler %q", name)
		switch {
		case h.Type() == "vm":
			if explicit {
				return fmt.Errorf("%s is a VM runtime (runtime_type vm): execguard cannot stand in for it: nothing written", what)
			}
			in.res.Notes = append(in.res.Notes, what+" is a VM runtime: left alone")
			continue
		case h.Table["inherit_default_runtime"] == true:
			in.res.Notes = append(in.res.Notes, fmt.Sprintf("%s inherits the default runtime (%s): CRI-O gives it that handler's runtime_path", what, c.DefaultRuntimeName))
			continue
		case h.Table["platform_runtime_paths"] != nil:
			if m, ok := h.Table["platform_runtime_paths"].(map[string]any); !ok || len(m) > 0 {
				return fmt.Errorf("%s sets platform_runtime_paths (%s), which would bypass runtime_path: set the wrapper there by hand or remove it: nothing written", what, h.Origin)
			}
		}
		real, err := in.realRuntime(what, h.RuntimePath(), name, origin)
		if err != nil {
			if h.BuiltIn && !explicit {
				in.res.Notes = append(in.res.Notes, fmt.Sprintf("%s: %s is not installed: left alone", what, name))
				continue
			}
			return fmt.Errorf("%w: nothing written", err)
		}
		base := filepath.Base(real)
		if have, ok := in.runtimes[base]; ok && have != real {
			return fmt.Errorf("%s runs %s, but the wrapper name %q already stands for %s (CRI-O needs the runtime's own base name): nothing written", what, real, base, have)
		}
		in.runtimes[base] = real
		link := in.opts.crioLink(base)
		w.Paths[name] = link
		in.res.Wired = append(in.res.Wired, Wired{Engine: CRIO, Handler: name, Front: FrontWrapper, Wrapper: link, Runtime: real})
	}
	if len(w.Paths) == 0 {
		return nil
	}
	dropIn, err := c.RenderDropIn(w)
	if err != nil {
		return err
	}
	if err := crio.Check(src, dropIn, w); err != nil {
		return fmt.Errorf("%w: nothing written", err)
	}
	in.add(src.DropIn(), fsplan.State{Kind: fsplan.File, Data: dropIn, Mode: 0o644}, "NRI and runtime handlers", groupCRIO)
	n := c.NRI()
	in.addNRIDirs(n.PluginPath, n.PluginConfigPath)
	return nil
}

// isShim reports whether the handler already runs execguard's shim.
func (in *installer) isShim(h containerd.Handler) bool {
	return h.Type == containerd.ShimType || h.RuntimePath == in.opts.Shim || filepath.Base(h.RuntimePath) == containerd.ShimBinary
}

// planShim installs the shim binary when a handler runs it. containerd
// starts it from runtime_path; the name is the one containerd derives from
// the shim's runtime type, so a lookup in its PATH finds it too.
func (in *installer) planShim() error {
	if !slices.ContainsFunc(in.res.Wired, func(w Wired) bool { return w.Front == FrontShim }) {
		return nil
	}
	data, err := readSource("shim binary", in.opts.ShimSource)
	if err != nil {
		return fmt.Errorf("%w (build cmd/%s, pass --shim-binary, or install with --front wrapper): nothing written", err, containerd.ShimBinary)
	}
	in.add(in.opts.Shim, fsplan.State{Kind: fsplan.File, Data: data, Mode: 0o755}, "containerd shim", groupShim)
	return nil
}

func readSource(what, p string) ([]byte, error) {
	if p == "" {
		return nil, fmt.Errorf("%s: no binary given", what)
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, p, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("%s %s: not an executable file", what, p)
	}
	return os.ReadFile(p)
}

func (in *installer) planWrapper() error {
	if !slices.ContainsFunc(in.res.Wired, func(w Wired) bool { return w.Front != FrontShim }) {
		return nil
	}
	data, err := readSource("wrapper binary", in.opts.WrapperSource)
	if err != nil {
		return fmt.Errorf("%w (build cmd/execguard-runtime, or pass --wrapper): nothing written", err)
	}
	in.add(in.opts.Wrapper, fsplan.State{Kind: fsplan.File, Data: data, Mode: 0o755}, "wrapper binary", groupWrapper)
	links := map[string]bool{}
	for _, w := range in.res.Wired {
		if w.Front == FrontShim || links[w.Wrapper] {
			continue
		}
		links[w.Wrapper] = true
		// A configuration beside the wrapper wins over the one install
		// writes (config.PathFor): its [runtimes] would be the ones used.
		if beside := filepath.Join(filepath.Dir(w.Wrapper), config.BesideWrapper); beside != in.opts.Config && in.host.Exists(beside) {
			return fmt.Errorf("%s exists: the wrapper called as %s reads it instead of %s; remove it or pass --config %s: nothing written",
				beside, w.Wrapper, in.opts.Config, beside)
		}
		in.add(w.Wrapper, fsplan.State{Kind: fsplan.Symlink, Target: in.opts.linkTarget(w.Wrapper)}, "wrapper for "+w.Runtime, groupWrapper)
	}
	return nil
}

// planConfig records each wrapper's real runtime in [runtimes], editing
// only the keys whose value changes.
func (in *installer) planConfig() error {
	if !in.cfgHave && len(in.runtimes) == 0 && in.opts.PolicySource == "" {
		return nil // the shim alone needs no file: a missing one means the defaults
	}
	var keys []string
	values := map[string]string{}
	file := map[string]string{}
	if in.cfgHave {
		tree, err := tomledit.Parse("execguard config "+in.opts.Config, in.cfgData)
		if err != nil {
			return err
		}
		if rt, ok := tree["runtimes"].(map[string]any); ok {
			for k, v := range rt {
				if s, ok := v.(string); ok {
					file[k] = s
				}
			}
		}
	}
	for name, real := range in.runtimes {
		if file[name] == real {
			continue
		}
		keys = append(keys, name)
		values[name] = real
	}
	sort.Strings(keys)
	data := in.cfgData
	if !in.cfgHave {
		data = []byte("# execguard node configuration. [runtimes] maps each wrapper name to the\n# real runtime; execguard install keeps it up to date.\n\n")
	}
	out, err := tomledit.SetStrings(data, "runtimes", keys, values)
	if err != nil {
		return fmt.Errorf("execguard config %s: %w: nothing written", in.opts.Config, err)
	}
	cfg, err := config.Parse(in.opts.Config, out)
	if err != nil {
		return fmt.Errorf("execguard config after the edit: %w: nothing written", err)
	}
	for name, real := range in.runtimes {
		if cfg.Runtimes[name] != real {
			return fmt.Errorf("execguard config %s: runtimes.%s would be %q after the edit, not %q: nothing written", in.opts.Config, name, cfg.Runtimes[name], real)
		}
	}
	if in.opts.PolicySource != "" {
		data, err := os.ReadFile(in.opts.PolicySource)
		if err != nil {
			return fmt.Errorf("policy: %w: nothing written", err)
		}
		if _, err := policyfile.Parse(in.opts.PolicySource, data); err != nil {
			return fmt.Errorf("policy %s: %w: nothing written", in.opts.PolicySource, err)
		}
		in.add(in.opts.Policy, fsplan.State{Kind: fsplan.File, Data: data, Mode: 0o644}, "policy", groupConfig)
		if file, _ := tomledit.Parse(in.opts.Config, out); file["policy"] != in.opts.Policy {
			if out, err = tomledit.SetTopString(out, "policy", in.opts.Policy); err != nil {
				return fmt.Errorf("execguard config %s: %w: nothing written", in.opts.Config, err)
			}
			if file, err := tomledit.Parse(in.opts.Config, out); err != nil || file["policy"] != in.opts.Policy {
				return fmt.Errorf("execguard config %s: policy would not be %s after the edit (%v): nothing written", in.opts.Config, in.opts.Policy, err)
			}
		}
	}
	in.add(in.opts.Config, fsplan.State{Kind: fsplan.File, Data: out, Mode: in.cfgMode}, "real runtimes", groupConfig)
	return nil
}

// pluginConf is the pre-registered plugin's configuration: the runtime
// hands it to the plugin, which discards its stderr, hence the log file.
func (in *installer) pluginConf() []byte {
	q, _ := tomledit.Quote(in.opts.Config)
	logFile, _ := tomledit.Quote(in.opts.PluginLog)
	return []byte("# Written by execguard install: settings of the execguard NRI plugin (see\n# plugin/README.md); execguard uninstall removes this file.\n" +
		"execguard_config = " + q + "\nlog_file = " + logFile + "\n")
}

func (in *installer) planNRI() error {
	switch in.opts.NRI {
	case NRINone, NRIExternal:
		return nil
	}
	data, err := readSource("NRI plugin binary", in.opts.PluginSource)
	if err != nil {
		return fmt.Errorf("%w (the plugin is the execguard binary, cmd/execguard: pass --plugin, or choose --nri=external or none): nothing written", err)
	}
	bin := fsplan.State{Kind: fsplan.File, Data: data, Mode: 0o755}
	if in.opts.NRI == NRISystemd {
		in.add(in.opts.PluginBinary, bin, "NRI plugin", groupNRI)
		in.add(in.opts.SystemdUnit, fsplan.State{Kind: fsplan.File, Data: in.unit(), Mode: 0o644}, "NRI plugin service", groupNRI)
		return nil
	}
	name := in.opts.NRIIndex + "-" + PluginName
	for _, d := range in.nriDirs {
		in.add(filepath.Join(d[0], name), bin, "pre-registered NRI plugin", groupNRI)
		in.add(filepath.Join(d[1], name+".conf"), fsplan.State{Kind: fsplan.File, Data: in.pluginConf(), Mode: 0o644}, "NRI plugin configuration", groupNRI)
	}
	return nil
}

func (in *installer) unit() []byte {
	socket := "/var/run/nri/nri.sock"
	return []byte(`# Written by execguard install; execguard uninstall removes it.
[Unit]
Description=execguard NRI plugin: pod metadata and coverage for the execguard runtime wrapper
After=containerd.service crio.service
PartOf=containerd.service

[Service]
ExecStart=` + in.opts.PluginBinary + ` nri run --socket ` + socket + ` --execguard-config ` + in.opts.Config + `
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
`)
}

// next says what must happen for the plan to take effect.
func (in *installer) next(plan fsplan.Plan) []string {
	changed := map[string]bool{}
	for _, s := range plan.Steps {
		changed[in.meta[s.Path].Group] = true
	}
	var out []string
	if changed[groupContainerd] || (changed[groupNRI] && slices.Contains(in.engines, Containerd) && in.opts.NRI == NRIPreregistered) {
		out = append(out, "restart containerd (systemctl restart containerd): it reads its runtime handlers and NRI settings, and starts pre-registered NRI plugins, only when it starts; running containers keep running")
	}
	if changed[groupCRIO] || (changed[groupNRI] && slices.Contains(in.engines, CRIO) && in.opts.NRI == NRIPreregistered) {
		out = append(out, "restart CRI-O (systemctl restart crio) for the drop-in and NRI to take effect")
	}
	if changed[groupContainerd] || changed[groupCRIO] {
		if slices.ContainsFunc(in.res.Wired, func(w Wired) bool { return w.Front == FrontShim }) {
			out = append(out, "pods that are already running keep the shim they were started with, and so do containers started in them later, until the pod is recreated: their execs are not seen until then (execguard status shows the coverage)")
		}
		if slices.ContainsFunc(in.res.Wired, func(w Wired) bool { return w.Front != FrontShim }) {
			out = append(out, "containers that are already running keep the runtime binary they were started with until they are recreated: their execs are not seen until then (execguard status shows the coverage)")
		}
	}
	if changed[groupNRI] && in.opts.NRI == NRISystemd {
		out = append(out, "systemctl daemon-reload && systemctl enable --now "+filepath.Base(in.opts.SystemdUnit))
	}
	if (changed[groupWrapper] || changed[groupConfig]) && !changed[groupContainerd] && !changed[groupCRIO] {
		out = append(out, "nothing to restart for the wrapper and its configuration: both are read again at every runtime call")
	}
	if changed[groupShim] && !changed[groupContainerd] {
		out = append(out, "the new shim binary runs for pods created from now on; running pods keep the shim process they have")
	}
	return out
}
