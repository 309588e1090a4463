// Package containerd reads a node's containerd configuration the way
// containerd does (main file, then imports in containerd's order, merged
// with the semantics of the containerd release that reads them) and writes
// execguard's drop-in: runc-type handlers run execguard's shim (runtime_type
// and runtime_path) or their BinaryName points at the wrapper; NRI on.
//
// Two merge semantics exist and both were checked against the real
// binaries with `containerd config dump`:
//
//   - containerd 2.x merges plugin tables of imported files key by key, so
//     a drop-in that sets only options.BinaryName keeps the handler's other
//     options (and containerd's default runc handler);
//   - containerd 1.x replaces a whole plugin table (e.g. the entire
//     "io.containerd.grpc.v1.cri" section) with the last imported copy, and a
//     runtimes table replaces the default one. The drop-in for 1.x therefore
//     carries a complete copy of the CRI and NRI sections as they are when
//     execguard is installed.
package containerd

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/execguard/execguard/install/fsplan"
	"github.com/execguard/execguard/install/tomledit"
)

const (
	// DefaultConfig is containerd's default configuration file.
	DefaultConfig = "/etc/containerd/config.toml"
	// DefaultDropIn is execguard's drop-in. containerd 2.x's default
	// configuration already imports /etc/containerd/conf.d/*.toml.
	DefaultDropIn = "/etc/containerd/conf.d/99-execguard.toml"
	// RuncV2 is the runtime type of the runc shim, whose options carry
	// BinaryName.
	RuncV2 = "io.containerd.runc.v2"
	// runcV1 is the deprecated runc shim; it reads BinaryName too.
	runcV1 = "io.containerd.runc.v1"
	// ShimType is execguard's shim (containerd-shim-execguard-v2), built on
	// the runc shim: it takes the runc shim's options.
	ShimType = "io.containerd.execguard.v2"
	// ShimBinary is the shim's file name, which containerd derives from
	// ShimType when no runtime_path is set.
	ShimBinary = "containerd-shim-execguard-v2"

	nriPlugin = "io.containerd.nri.v1.nri"
	criV2     = "io.containerd.grpc.v1.cri"    // runtimes in config version 2
	criV3     = "io.containerd.cri.v1.runtime" // runtimes in config version 3
)

// Binary is what a containerd executable's Go build information says.
type Binary struct {
	Path    string // host path
	Module  string // main module path
	Version string // e.g. v2.2.9; "" when the build does not say
	Major   int    // 1 or 2
}

// DetectBinary reads the build information of the containerd binary at
// path (host path), or of the first `containerd` in the system PATH when
// path is empty. Nothing is executed.
func DetectBinary(h fsplan.Host, path string) (Binary, error) {
	if path == "" {
		p, err := h.LookPath("containerd")
		if err != nil {
			return Binary{}, fmt.Errorf("containerd binary: %w", err)
		}
		path = p
	}
	real, err := h.Resolve(path)
	if err != nil {
		return Binary{}, fmt.Errorf("containerd binary %s: %w", path, err)
	}
	bi, err := buildinfo.ReadFile(h.Local(real))
	if err != nil {
		return Binary{}, fmt.Errorf("containerd binary %s: cannot read its Go build information: %w", path, err)
	}
	b := Binary{Path: path, Module: bi.Main.Path, Version: bi.Main.Version}
	switch bi.Main.Path {
	case "github.com/containerd/containerd/v2":
		b.Major = 2
	case "github.com/containerd/containerd":
		b.Major = 1
	default:
		return Binary{}, fmt.Errorf("containerd binary %s: main module is %q, not containerd", path, bi.Main.Path)
	}
	if b.Version == "" || b.Version == "(devel)" {
		b.Version = ""
		for _, s := range bi.Settings {
			if s.Key == "-ldflags" {
				if m := ldflagsVersion.FindStringSubmatch(s.Value); m != nil {
					b.Version = m[1]
				}
			}
		}
	}
	return b, nil
}

var ldflagsVersion = regexp.MustCompile(`containerd(?:/v2)?/version\.Version=(\S+)`)

// File is one configuration file as read.
type File struct {
	Path    string // host path
	Data    []byte
	Tree    map[string]any
	Version int // 1 when the file has no version key
}

// Source says which files to read.
type Source struct {
	Host   fsplan.Host
	Path   string // main file, host path
	DropIn string // execguard's drop-in, host path
	// Major is the containerd release line reading the files (1 or 2); 0
	// means unknown: version 3 files imply 2, version 2 files are treated
	// with 1.x semantics, whose drop-in is right for both.
	Major int
	// SkipDropIn leaves the drop-in out of the merge: the configuration as
	// the user wrote it.
	SkipDropIn bool
	// Overlay replaces files on disk (host path -> content), to see what
	// containerd would load after a change.
	Overlay map[string][]byte
}

// Config is the configuration containerd would run with.
type Config struct {
	Source
	Exists  bool   // the main file exists
	Version int    // the main file's version (or the one a new file gets)
	Files   []File // in containerd's load order, main first
	// DropInImported is true when the main file's imports reach the drop-in.
	DropInImported bool
	Plugins        map[string]any // merged plugin tables
	Top            map[string]any // merged top-level keys other than plugins
}

// Main is the main file (zero when it does not exist).
func (c *Config) Main() File {
	if c.Exists && len(c.Files) > 0 {
		return c.Files[0]
	}
	return File{Path: c.Path}
}

// Load reads the main file and everything it imports.
func Load(src Source) (*Config, error) {
	c := &Config{Source: src, Plugins: map[string]any{}, Top: map[string]any{}}
	data, ok, err := c.read(src.Path)
	if err != nil {
		return nil, err
	}
	if !ok {
		c.Version = 3
		if c.Major == 1 {
			c.Version = 2
		} else if c.Major == 0 {
			c.Major = 2
		}
		return c, nil
	}
	c.Exists = true
	main, err := parseFile(src.Path, data)
	if err != nil {
		return nil, err
	}
	c.Version = main.Version
	switch {
	case main.Version <= 1:
		return nil, fmt.Errorf("containerd config %s: version 1 (no version key) is not supported: migrate it to version 2 or 3 (containerd config migrate)", src.Path)
	case main.Version > 3:
		return nil, fmt.Errorf("containerd config %s: unknown config version %d (execguard knows version 2, containerd 1.7, and version 3, containerd 2.x)", src.Path, main.Version)
	case main.Version == 3 && c.Major == 1:
		return nil, fmt.Errorf("containerd config %s: version 3 needs containerd 2.x, but the containerd binary is 1.x", src.Path)
	}
	if c.Major == 0 {
		c.Major = 1
		if main.Version == 3 {
			c.Major = 2
		}
	}

	loaded := map[string]bool{}
	pending := []string{src.Path}
	for len(pending) > 0 {
		p := pending[0]
		pending = pending[1:]
		if loaded[p] {
			continue
		}
		loaded[p] = true
		if p == src.DropIn && p != src.Path {
			c.DropInImported = true
			if src.SkipDropIn {
				continue
			}
		}
		f := main
		if p != src.Path {
			data, ok, err := c.read(p)
			if err != nil {
				return nil, err
			}
			if !ok {
				if p == src.DropIn {
					continue // not written yet
				}
				return nil, fmt.Errorf("containerd config %s: imported file %s does not exist (containerd would not start)", src.Path, p)
			}
			if f, err = parseFile(p, data); err != nil {
				return nil, err
			}
		}
		c.Files = append(c.Files, f)
		imports, err := c.resolveImports(f)
		if err != nil {
			return nil, err
		}
		pending = append(pending, imports...)
	}
	for _, f := range c.Files {
		if err := c.merge(f); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Config) read(p string) ([]byte, bool, error) {
	if data, ok := c.Overlay[p]; ok {
		return data, data != nil, nil
	}
	st, err := c.Host.Read(p)
	if err != nil {
		return nil, false, fmt.Errorf("containerd config: %w", err)
	}
	switch st.Kind {
	case fsplan.Absent:
		return nil, false, nil
	case fsplan.Symlink:
		data, ok, err := c.Host.ReadFollowing(p)
		if err != nil {
			return nil, false, fmt.Errorf("containerd config %w", err)
		}
		return data, ok, nil
	}
	return st.Data, true, nil
}

func parseFile(path string, data []byte) (File, error) {
	tree, err := tomledit.Parse("containerd config "+path, data)
	if err != nil {
		return File{}, err
	}
	f := File{Path: path, Data: data, Tree: tree, Version: 1}
	if v, ok := tree["version"]; ok {
		n, ok := v.(int64)
		if !ok {
			return File{}, fmt.Errorf("containerd config %s: version is %T, not an integer", path, v)
		}
		f.Version = int(n)
		if f.Version < 1 {
			f.Version = 1
		}
	}
	if p, ok := tree["plugins"]; ok {
		if _, ok := p.(map[string]any); !ok {
			return File{}, fmt.Errorf("containerd config %s: plugins is not a table", path)
		}
	}
	return f, nil
}

// resolveImports follows containerd: paths relative to the importing
// file's directory, a pattern with * expanded in sorted order.
func (c *Config) resolveImports(f File) ([]string, error) {
	raw, ok := f.Tree["imports"]
	if !ok {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("containerd config %s: imports is not an array", f.Path)
	}
	var out []string
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("containerd config %s: imports holds a %T, not a path", f.Path, v)
		}
		p := c.importPath(f.Path, s)
		if !strings.Contains(p, "*") {
			out = append(out, p)
			continue
		}
		matches, err := c.glob(p)
		if err != nil {
			return nil, fmt.Errorf("containerd config %s: import %q: %w", f.Path, s, err)
		}
		out = append(out, matches...)
	}
	return out, nil
}

func (c *Config) importPath(parent, s string) string {
	p := filepath.Clean(s)
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(parent), p)
	}
	return p
}

// glob expands a host pattern on disk and among the overlay's files.
func (c *Config) glob(pattern string) ([]string, error) {
	local, err := filepath.Glob(c.Host.Local(pattern))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, l := range local {
		p := l
		if r := c.Host.Root; r != "" && r != "/" {
			rel, err := filepath.Rel(r, l)
			if err != nil {
				continue
			}
			p = "/" + rel
		}
		if data, ok := c.Overlay[p]; ok && data == nil {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	for p, data := range c.Overlay {
		if data == nil || seen[p] {
			continue
		}
		if ok, _ := filepath.Match(pattern, p); ok {
			seen[p] = true
			out = append(out, p)
		}
	}
	// The drop-in counts as there even before it is written, so that a
	// pattern that will pick it up is recognised.
	if ok, _ := filepath.Match(pattern, c.DropIn); ok && c.DropIn != "" && !seen[c.DropIn] {
		out = append(out, c.DropIn)
	}
	sort.Strings(out)
	return out, nil
}

// criID is the plugin that holds runtimes in this config version.
func (c *Config) criID() string {
	if c.Version >= 3 {
		return criV3
	}
	return criV2
}

func (c *Config) merge(f File) error {
	plugins, _ := f.Tree["plugins"].(map[string]any)
	if f.Version != c.Version {
		// containerd migrates such a file's plugin names; execguard only
		// needs to know it does not touch the sections it writes.
		for _, id := range []string{criV2, criV3, nriPlugin, "cri", "nri"} {
			if _, ok := plugins[id]; ok {
				return fmt.Errorf("containerd config %s: version %d file sets plugin %q while the main file %s is version %d; give it version %d",
					f.Path, f.Version, id, c.Path, c.Version, c.Version)
			}
		}
		return nil
	}
	for k, v := range f.Tree {
		if k != "plugins" && k != "imports" {
			c.Top[k] = v
		}
	}
	for id, v := range plugins {
		if c.Major >= 2 {
			c.Plugins[id] = deepMerge(c.Plugins[id], v)
		} else {
			c.Plugins[id] = deepCopy(v)
		}
	}
	return nil
}

// deepMerge merges tables key by key; any other value replaces.
func deepMerge(dst, src any) any {
	d, dok := dst.(map[string]any)
	s, sok := src.(map[string]any)
	if !dok || !sok {
		return deepCopy(src)
	}
	out := deepCopy(d).(map[string]any)
	for k, v := range s {
		out[k] = deepMerge(out[k], v)
	}
	return out
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}

func table(m map[string]any, path ...string) map[string]any {
	cur := m
	for _, k := range path {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

// Handler is one CRI runtime handler.
type Handler struct {
	Name        string
	Type        string // runtime_type
	RuntimePath string // runtime_path: the shim binary; "" means found from Type
	BinaryName  string // options.BinaryName; "" means runc from PATH
	// Implicit is true for containerd's built-in runc handler that no file
	// configures.
	Implicit bool
}

// RuncType reports whether the handler runs a runc-compatible binary that
// BinaryName selects: the runc shim or execguard's shim built on it.
func (h Handler) RuncType() bool { return h.Type == RuncV2 || h.Type == runcV1 || h.Type == ShimType }

// Shim is the shim binary containerd starts for the handler: runtime_path,
// else the file name containerd derives from the type (looked up in its
// PATH).
func (h Handler) Shim() string {
	if h.RuntimePath != "" {
		return h.RuntimePath
	}
	switch h.Type {
	case ShimType:
		return ShimBinary
	case RuncV2, "":
		return "containerd-shim-runc-v2"
	case runcV1:
		return "containerd-shim-runc-v1"
	}
	return ""
}

// Handlers lists the CRI runtime handlers, sorted by name.
func (c *Config) Handlers() []Handler {
	runtimes := table(c.Plugins, c.criID(), "containerd", "runtimes")
	var out []Handler
	for name, v := range runtimes {
		t, _ := v.(map[string]any)
		h := Handler{Name: name}
		h.Type, _ = t["runtime_type"].(string)
		if h.Type == "" && name == "runc" && c.Major >= 2 {
			h.Type = RuncV2 // merged with containerd's default runc handler
		}
		h.RuntimePath, _ = t["runtime_path"].(string)
		h.BinaryName, _ = table(t, "options")["BinaryName"].(string)
		out = append(out, h)
	}
	// containerd 2.x keeps its default runc handler beside configured ones;
	// 1.x keeps it only when no runtimes table is configured.
	if _, ok := runtimes["runc"]; !ok && (c.Major >= 2 || runtimes == nil) {
		out = append(out, Handler{Name: "runc", Type: RuncV2, Implicit: true})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DefaultRuntime is the handler used when a pod names none.
func (c *Config) DefaultRuntime() string {
	if s, ok := table(c.Plugins, c.criID(), "containerd")["default_runtime_name"].(string); ok && s != "" {
		return s
	}
	return "runc"
}

// NRI is the NRI plugin's configuration.
type NRI struct {
	Enabled            bool
	Socket             string
	PluginPath         string
	PluginConfigPath   string
	ConnectionsAllowed bool
}

// NRI returns the merged NRI settings with containerd's defaults (NRI is
// off by default in 1.x, on in 2.x).
func (c *Config) NRI() NRI {
	n := NRI{
		Enabled:            c.Major >= 2,
		Socket:             "/var/run/nri/nri.sock",
		PluginPath:         "/opt/nri/plugins",
		PluginConfigPath:   "/etc/nri/conf.d",
		ConnectionsAllowed: true,
	}
	t := table(c.Plugins, nriPlugin)
	if v, ok := t["disable"].(bool); ok {
		n.Enabled = !v
	}
	if v, ok := t["disable_connections"].(bool); ok {
		n.ConnectionsAllowed = !v
	}
	for key, dst := range map[string]*string{"socket_path": &n.Socket, "plugin_path": &n.PluginPath, "plugin_config_path": &n.PluginConfigPath} {
		if v, ok := t[key].(string); ok && v != "" {
			*dst = v
		}
	}
	return n
}

// StateDir is containerd's state directory (shim bundles live below it).
func (c *Config) StateDir() string {
	if s, ok := c.Top["state"].(string); ok && s != "" {
		return s
	}
	return "/run/containerd"
}

// Set is what the drop-in sets on one handler; an empty field keeps what
// the user's configuration says.
type Set struct {
	RuntimeType string // runtime_type
	RuntimePath string // runtime_path: the shim binary containerd starts
	BinaryName  string // options.BinaryName: the runtime the shim runs
}

// Wiring is what the drop-in sets.
type Wiring struct {
	// Handlers maps a handler name to what it gets.
	Handlers map[string]Set
	// AllowConnections makes sure external NRI plugins may connect.
	AllowConnections bool
}

// header opens every drop-in.
const header = `# Written by execguard install. The runtime handlers below run execguard's
# shim (runtime_type, runtime_path) or run every OCI runtime call through
# the execguard wrapper (options.BinaryName), and NRI is on.
# execguard uninstall removes this file and the import that pulls it in.
`

const header1x = `#
# containerd 1.x replaces a whole plugin section with the last imported copy,
# so this file holds a complete copy of the CRI and NRI sections of your
# configuration as they were at install time. To change them, edit your own
# file and run execguard install again (or edit them here).
`

// RenderDropIn returns the drop-in's content for the user's configuration
// (load it with SkipDropIn).
func (c *Config) RenderDropIn(w Wiring) ([]byte, error) {
	handlers := map[string]Handler{}
	for _, h := range c.Handlers() {
		handlers[h.Name] = h
	}
	names := make([]string, 0, len(w.Handlers))
	for name, set := range w.Handlers {
		if set == (Set{}) {
			return nil, fmt.Errorf("containerd config %s: nothing to set on runtime handler %q", c.Path, name)
		}
		h, ok := handlers[name]
		if !ok {
			return nil, fmt.Errorf("containerd config %s: no runtime handler %q", c.Path, name)
		}
		if !h.RuncType() {
			return nil, fmt.Errorf("containerd config %s: runtime handler %q has runtime_type %q, not %s", c.Path, name, h.Type, RuncV2)
		}
		names = append(names, name)
	}
	sort.Strings(names)

	var cri, nri map[string]any
	if c.Major >= 2 {
		cri, nri = map[string]any{}, map[string]any{}
	} else {
		cri, _ = deepCopy(table(c.Plugins, c.criID())).(map[string]any)
		nri, _ = deepCopy(table(c.Plugins, nriPlugin)).(map[string]any)
		if cri == nil {
			cri = map[string]any{}
		}
		if nri == nil {
			nri = map[string]any{}
		}
	}
	for _, name := range names {
		entry := ensure(cri, "containerd", "runtimes", name)
		if handlers[name].Implicit {
			if c.Major >= 2 {
				entry["runtime_type"] = RuncV2
			} else {
				for k, v := range defaultRunc1x() {
					entry[k] = v
				}
			}
		}
		set := w.Handlers[name]
		if set.RuntimeType != "" {
			entry["runtime_type"] = set.RuntimeType
		}
		if set.RuntimePath != "" {
			entry["runtime_path"] = set.RuntimePath
		}
		if set.BinaryName != "" {
			ensure(entry, "options")["BinaryName"] = set.BinaryName
		}
	}
	nri["disable"] = false
	if w.AllowConnections && !c.NRI().ConnectionsAllowed {
		nri["disable_connections"] = false
	}
	doc := map[string]any{
		"version": int64(c.Version),
		"plugins": map[string]any{c.criID(): cri, nriPlugin: nri},
	}
	var body bytes.Buffer
	if err := toml.NewEncoder(&body).SetIndentTables(true).Encode(doc); err != nil {
		return nil, fmt.Errorf("render containerd drop-in: %w", err)
	}
	out := header
	if c.Major < 2 {
		out += header1x
	}
	return append([]byte(out+"\n"), body.Bytes()...), nil
}

func ensure(m map[string]any, path ...string) map[string]any {
	cur := m
	for _, k := range path {
		next, ok := cur[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	return cur
}

// defaultRunc1x is containerd 1.7's default runc handler (`containerd
// config default`), which a drop-in's runtimes table replaces.
func defaultRunc1x() map[string]any {
	return map[string]any{
		"base_runtime_spec":               "",
		"cni_conf_dir":                    "",
		"cni_max_conf_num":                int64(0),
		"container_annotations":           []any{},
		"pod_annotations":                 []any{},
		"privileged_without_host_devices": false,
		"privileged_without_host_devices_all_devices_allowed": false,
		"runtime_engine": "",
		"runtime_path":   "",
		"runtime_root":   "",
		"runtime_type":   RuncV2,
		"sandbox_mode":   "podsandbox",
		"snapshotter":    "",
	}
}

// RenderMain returns the main file with the drop-in imported: unchanged
// when its imports already reach the drop-in, else with the drop-in added
// to its imports by a minimal textual edit (or a new file when there was
// none). inserted is the exact text added.
func (c *Config) RenderMain() (data []byte, inserted string, err error) {
	if c.DropInImported {
		return c.Main().Data, "", nil
	}
	if !c.Exists {
		q, err := tomledit.Quote(c.DropIn)
		if err != nil {
			return nil, "", err
		}
		s := fmt.Sprintf("# Created by execguard install (there was no containerd configuration file);\n# execguard uninstall removes it.\nversion = %d\nimports = [%s]\n", c.Version, q)
		return []byte(s), s, nil
	}
	data, inserted, err = tomledit.AppendToArray(c.Main().Data, "imports", c.DropIn)
	if err != nil {
		return nil, "", fmt.Errorf("containerd config %s: add %s to imports: %w", c.Path, c.DropIn, err)
	}
	return data, inserted, nil
}

// Check loads what containerd would load with main and drop-in as given
// and verifies that every handler of w runs its BinaryName and NRI is on.
func Check(src Source, main, dropIn []byte, w Wiring) error {
	src.SkipDropIn = false
	src.Overlay = map[string][]byte{src.Path: main, src.DropIn: dropIn}
	c, err := Load(src)
	if err != nil {
		return err
	}
	if !c.DropInImported {
		return fmt.Errorf("containerd config %s: %s would not be imported", src.Path, src.DropIn)
	}
	var order []string
	for _, f := range c.Files {
		order = append(order, f.Path)
	}
	after := func() string {
		i := slices.Index(order, src.DropIn)
		if i < 0 || i == len(order)-1 {
			return "another file"
		}
		return strings.Join(order[i+1:], ", ")
	}
	got := map[string]Handler{}
	for _, h := range c.Handlers() {
		got[h.Name] = h
	}
	var problems []string
	for name, set := range w.Handlers {
		h := got[name]
		want := func(key, have, want string) {
			if want != "" && have != want {
				problems = append(problems, fmt.Sprintf("handler %s would have %s %q, not %s: overridden by %s, loaded after the drop-in",
					name, key, have, want, after()))
			}
		}
		want("options.BinaryName", h.BinaryName, set.BinaryName)
		want("runtime_type", h.Type, set.RuntimeType)
		want("runtime_path", h.RuntimePath, set.RuntimePath)
		if !h.RuncType() && set.RuntimeType == "" {
			problems = append(problems, fmt.Sprintf("handler %s would have runtime_type %q, not %s", name, h.Type, RuncV2))
		}
	}
	n := c.NRI()
	if !n.Enabled {
		problems = append(problems, "NRI would stay disabled: overridden by "+after())
	}
	if w.AllowConnections && !n.ConnectionsAllowed {
		problems = append(problems, "NRI would refuse external plugins (disable_connections): overridden by "+after())
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return fmt.Errorf("containerd config %s: %s", src.Path, strings.Join(problems, "; "))
	}
	return nil
}

// Task is one container's bundle under containerd's state directory.
type Task struct {
	ID string // namespace/id
	// Shim is the shim binary containerd started for it (shim-binary-path,
	// which containerd 1.6 and later write into every bundle).
	Shim string
	// BinaryName is the runtime the runc shim was told to run
	// (options.json); "" is runc from PATH.
	BinaryName string
	// Sandbox is a CRI pod sandbox (the pause container), from the
	// annotations of the bundle's config.json.
	Sandbox bool
}

// Tasks lists the container bundles of running shims, sorted by ID.
// Containers keep the shim and BinaryName they were created with. A
// container that joined its pod's shim (containerd 2.x, shims of bootstrap
// version 3) has no shim-binary-path of its own but names the pod's sandbox
// in its bundle: its shim is the sandbox's.
func Tasks(h fsplan.Host, stateDir string) ([]Task, error) {
	pattern := filepath.Join(h.Local(stateDir), "io.containerd.runtime.v2.task", "*", "*")
	dirs, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var out []Task
	sandbox := map[string]string{} // task -> its sandbox's task, both namespace/id
	shims := map[string]string{}
	for _, d := range dirs {
		ns := filepath.Base(filepath.Dir(d))
		t := Task{ID: ns + "/" + filepath.Base(d)}
		shim, serr := os.ReadFile(filepath.Join(d, "shim-binary-path"))
		t.Shim = strings.TrimSpace(string(shim))
		sb, berr := os.ReadFile(filepath.Join(d, "sandbox"))
		data, oerr := os.ReadFile(filepath.Join(d, "options.json"))
		if serr != nil && oerr != nil && berr != nil {
			continue // not a bundle, or the container went away
		}
		if t.Shim == "" && berr == nil {
			sandbox[t.ID] = ns + "/" + strings.TrimSpace(string(sb))
		}
		var opts struct {
			BinaryName string `json:"binary_name"`
		}
		if oerr == nil && json.Unmarshal(data, &opts) == nil {
			t.BinaryName = opts.BinaryName
		}
		if spec, err := os.ReadFile(filepath.Join(d, "config.json")); err == nil {
			var s struct {
				Annotations map[string]string `json:"annotations"`
			}
			if json.Unmarshal(spec, &s) == nil {
				t.Sandbox = s.Annotations["io.kubernetes.cri.container-type"] == "sandbox"
			}
		}
		shims[t.ID] = t.Shim
		out = append(out, t)
	}
	for i, t := range out {
		if sb, ok := sandbox[t.ID]; ok {
			out[i].Shim = shims[sb]
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Users lists the containers, by namespace/id, whose shim is one of shims
// or whose runc shim runs one of binaries.
func Users(h fsplan.Host, stateDir string, shims, binaries []string) ([]string, error) {
	tasks, err := Tasks(h, stateDir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range tasks {
		if (t.Shim != "" && slices.Contains(shims, t.Shim)) || (t.BinaryName != "" && slices.Contains(binaries, t.BinaryName)) {
			out = append(out, t.ID)
		}
	}
	return out, nil
}

// String renders a binary for messages.
func (b Binary) String() string {
	v := b.Version
	if v == "" {
		v = "major " + strconv.Itoa(b.Major)
	}
	return fmt.Sprintf("containerd %s (%s)", v, b.Path)
}

// Stale compares a 1.x drop-in's copies of the CRI and NRI sections with
// the user's configuration (loaded with SkipDropIn) and lists the keys that
// differ beyond what execguard sets: containerd 1.x ignores the user's
// sections while the drop-in is imported, so those edits do not apply.
// containerd 2.x merges key by key and a drop-in never goes stale.
func (c *Config) Stale(dropIn []byte) ([]string, error) {
	if c.Major >= 2 {
		return nil, nil
	}
	f, err := parseFile(c.DropIn, dropIn)
	if err != nil {
		return nil, err
	}
	plugins, _ := f.Tree["plugins"].(map[string]any)
	user := map[string]Handler{}
	for _, h := range c.Handlers() {
		user[h.Name] = h
	}
	cri, _ := deepCopy(plugins[c.criID()]).(map[string]any)
	runtimes := table(cri, "containerd", "runtimes")
	userRuntimes := table(c.Plugins, c.criID(), "containerd", "runtimes")
	// Put back what execguard sets to the user's own values.
	restore := func(dst, src map[string]any, key string) {
		if v, ok := src[key]; ok {
			dst[key] = v
		} else {
			delete(dst, key)
		}
	}
	for name, v := range runtimes {
		h, ok := user[name]
		t, _ := v.(map[string]any)
		switch {
		case ok && h.Implicit:
			delete(runtimes, name)
		case ok && t != nil:
			u, _ := userRuntimes[name].(map[string]any)
			restore(t, u, "runtime_type")
			restore(t, u, "runtime_path")
			if opts := table(t, "options"); opts != nil {
				restore(opts, table(u, "options"), "BinaryName")
				if len(opts) == 0 && table(u, "options") == nil {
					delete(t, "options")
				}
			}
		}
	}
	if len(runtimes) == 0 && table(c.Plugins, c.criID(), "containerd", "runtimes") == nil {
		delete(table(cri, "containerd"), "runtimes")
		if len(table(cri, "containerd")) == 0 && table(c.Plugins, c.criID(), "containerd") == nil {
			delete(cri, "containerd")
		}
	}
	nri, _ := deepCopy(plugins[nriPlugin]).(map[string]any)
	userNRI, _ := deepCopy(c.Plugins[nriPlugin]).(map[string]any)
	for _, k := range []string{"disable", "disable_connections"} {
		delete(nri, k)
		delete(userNRI, k)
	}
	var out []string
	out = append(out, diffKeys(c.criID(), orEmpty(table(c.Plugins, c.criID())), orEmpty(cri))...)
	out = append(out, diffKeys(nriPlugin, orEmpty(userNRI), orEmpty(nri))...)
	sort.Strings(out)
	return out, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// diffKeys lists the dotted keys whose values differ between a and b.
func diffKeys(prefix string, a, b map[string]any) []string {
	var out []string
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	for k := range keys {
		av, bv := a[k], b[k]
		am, aok := av.(map[string]any)
		bm, bok := bv.(map[string]any)
		if aok && bok {
			out = append(out, diffKeys(prefix+"."+k, am, bm)...)
			continue
		}
		if fmt.Sprint(av) != fmt.Sprint(bv) {
			out = append(out, prefix+"."+k)
		}
	}
	return out
}
