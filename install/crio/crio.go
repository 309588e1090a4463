// Package crio reads a node's CRI-O configuration the way CRI-O does
// (crio.conf, then every file under crio.conf.d in lexical order) and
// writes execguard's drop-in: NRI on, runtime_path of the runc and crun
// handlers pointed at the wrapper.
//
// CRI-O decodes each file over the configuration built so far, and a
// handler's table in a later file replaces the whole handler (its TOML
// decoder makes a new map entry), so the drop-in repeats every setting of
// each handler it changes. [crio.nri] is a struct: its keys merge one by
// one.
package crio

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/execguard/execguard/install/fsplan"
	"github.com/execguard/execguard/install/tomledit"
)

const (
	// DefaultConfig and DefaultDropInDir are CRI-O's defaults (--config,
	// --config-dir).
	DefaultConfig    = "/etc/crio/crio.conf"
	DefaultDropInDir = "/etc/crio/crio.conf.d"
	// DropInName sorts after the drop-ins distributions ship (00-, 10-).
	DropInName = "99-execguard.conf"
	// DefaultRuntime is CRI-O's default handler when no file names one.
	DefaultRuntime = "crun"
)

// File is one configuration file as read.
type File struct {
	Path string
	Data []byte
	Tree map[string]any
}

// Source says which files to read.
type Source struct {
	Host      fsplan.Host
	Path      string // crio.conf, host path
	DropInDir string // host path
	// SkipDropIn leaves execguard's drop-in out: the configuration as the
	// user wrote it.
	SkipDropIn bool
	// Overlay replaces files on disk (host path -> content; nil: absent).
	Overlay map[string][]byte
}

// DropIn is execguard's drop-in's host path.
func (s Source) DropIn() string { return filepath.Join(s.DropInDir, DropInName) }

// Config is the configuration CRI-O would run with, as far as execguard
// needs it.
type Config struct {
	Source
	Files []File // load order
	// Runtimes holds each handler's table from the last file that has it,
	// and Origin that file.
	Runtimes map[string]map[string]any
	Origin   map[string]string
	// DefaultRuntimeName is crio.runtime.default_runtime.
	DefaultRuntimeName string
	CgroupManager      string
	nri                map[string]any
}

// Found reports whether any CRI-O configuration file exists.
func (c *Config) Found() bool { return len(c.Files) > 0 }

// Load reads crio.conf and the drop-in directory.
func Load(src Source) (*Config, error) {
	c := &Config{Source: src, Runtimes: map[string]map[string]any{}, Origin: map[string]string{},
		DefaultRuntimeName: DefaultRuntime, CgroupManager: "systemd", nri: map[string]any{}}
	paths := []string{src.Path}
	dropIns, err := c.listDropIns()
	if err != nil {
		return nil, err
	}
	paths = append(paths, dropIns...)
	for _, p := range paths {
		if p == src.DropIn() && src.SkipDropIn {
			continue
		}
		data, ok, err := c.read(p)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		tree, err := tomledit.Parse("CRI-O config "+p, data)
		if err != nil {
			return nil, err
		}
		f := File{Path: p, Data: data, Tree: tree}
		if err := c.merge(f); err != nil {
			return nil, err
		}
		c.Files = append(c.Files, f)
	}
	return c, nil
}

func (c *Config) read(p string) ([]byte, bool, error) {
	if data, ok := c.Overlay[p]; ok {
		return data, data != nil, nil
	}
	data, ok, err := c.Host.ReadFollowing(p)
	if err != nil {
		return nil, false, fmt.Errorf("CRI-O config %w", err)
	}
	return data, ok, nil
}

// listDropIns walks the drop-in directory like CRI-O (filepath.Walk:
// lexical order, recursive, every regular file), plus overlay files in it.
func (c *Config) listDropIns() ([]string, error) {
	seen := map[string]bool{}
	var out []string
	root := c.Host.Local(c.DropInDir)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		hp := filepath.Join(c.DropInDir, rel)
		// Our own temporary files never count.
		if strings.Contains(filepath.Base(hp), ".execguard-") {
			return nil
		}
		seen[hp] = true
		out = append(out, hp)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("CRI-O config directory %s: %w", c.DropInDir, err)
	}
	for p, data := range c.Overlay {
		if data != nil && !seen[p] && filepath.Dir(p) == filepath.Clean(c.DropInDir) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

func sub(m map[string]any, path ...string) (map[string]any, error) {
	cur := m
	for i, k := range path {
		v, ok := cur[k]
		if !ok {
			return nil, nil
		}
		next, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is not a table", strings.Join(path[:i+1], "."))
		}
		cur = next
	}
	return cur, nil
}

func (c *Config) merge(f File) error {
	bad := func(err error) error { return fmt.Errorf("CRI-O config %s: %w", f.Path, err) }
	rt, err := sub(f.Tree, "crio", "runtime")
	if err != nil {
		return bad(err)
	}
	if s, ok := rt["default_runtime"].(string); ok && s != "" {
		c.DefaultRuntimeName = s
	}
	if s, ok := rt["cgroup_manager"].(string); ok && s != "" {
		c.CgroupManager = s
	}
	runtimes, err := sub(f.Tree, "crio", "runtime", "runtimes")
	if err != nil {
		return bad(err)
	}
	for name, v := range runtimes {
		t, ok := v.(map[string]any)
		if !ok {
			return bad(fmt.Errorf("crio.runtime.runtimes.%s is not a table", name))
		}
		c.Runtimes[name] = t
		c.Origin[name] = f.Path
	}
	nri, err := sub(f.Tree, "crio", "nri")
	if err != nil {
		return bad(err)
	}
	for k, v := range nri {
		c.nri[k] = v
	}
	return nil
}

// Handler is one runtime handler as CRI-O would use it.
type Handler struct {
	Name  string
	Table map[string]any // its settings; for a built-in one, CRI-O's defaults
	// BuiltIn is true for CRI-O's default handler that no file configures.
	BuiltIn bool
	Origin  string // the file its table comes from
}

// Type is runtime_type ("oci" when empty).
func (h Handler) Type() string {
	if s, _ := h.Table["runtime_type"].(string); s != "" {
		return s
	}
	return "oci"
}

// RuntimePath is runtime_path ("" means the handler's name in PATH).
func (h Handler) RuntimePath() string {
	s, _ := h.Table["runtime_path"].(string)
	return s
}

// Handlers lists the handlers: configured ones and, unless a file
// configures it, CRI-O's built-in crun.
func (c *Config) Handlers() []Handler {
	var out []Handler
	for name, t := range c.Runtimes {
		out = append(out, Handler{Name: name, Table: t, Origin: c.Origin[name]})
	}
	if _, ok := c.Runtimes[DefaultRuntime]; !ok {
		out = append(out, Handler{Name: DefaultRuntime, Table: c.builtinHandler(DefaultRuntime), BuiltIn: true})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// builtinHandler is CRI-O's default handler (pkg/config defaultRuntimeHandler,
// as documented in crio.conf(5)): what a drop-in must repeat when it
// replaces it.
func (c *Config) builtinHandler(name string) map[string]any {
	t := map[string]any{
		"runtime_type":         "oci",
		"runtime_root":         "/run/" + name,
		"container_min_memory": "12MiB",
		"monitor_env":          []any{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		"allowed_annotations":  []any{"io.containers.trace-syscall", "io.kubernetes.cri-o.Devices"},
	}
	if c.CgroupManager == "systemd" {
		t["monitor_cgroup"] = "system.slice"
	}
	return t
}

// NRI is the [crio.nri] configuration.
type NRI struct {
	Enabled            bool
	Socket             string
	PluginPath         string
	PluginConfigPath   string
	ConnectionsAllowed bool
}

// NRI returns the merged settings with CRI-O's defaults (NRI on since
// CRI-O 1.30).
func (c *Config) NRI() NRI {
	n := NRI{Enabled: true, Socket: "/var/run/nri/nri.sock", PluginPath: "/opt/nri/plugins",
		PluginConfigPath: "/etc/nri/conf.d", ConnectionsAllowed: true}
	if v, ok := c.nri["enable_nri"].(bool); ok {
		n.Enabled = v
	}
	if v, ok := c.nri["nri_disable_connections"].(bool); ok {
		n.ConnectionsAllowed = !v
	}
	for key, dst := range map[string]*string{"nri_listen": &n.Socket, "nri_plugin_dir": &n.PluginPath, "nri_plugin_config_dir": &n.PluginConfigPath} {
		if v, ok := c.nri[key].(string); ok && v != "" {
			*dst = v
		}
	}
	return n
}

// Wiring is what the drop-in sets.
type Wiring struct {
	// Paths maps a handler name to its new runtime_path.
	Paths map[string]string
	// AllowConnections makes sure external NRI plugins may connect.
	AllowConnections bool
}

const header = `# Written by execguard install: NRI on, and the handlers below run every
# OCI runtime call through the execguard wrapper. CRI-O replaces a whole
# handler with the last file's table, so each one repeats all the settings it
# had when execguard was installed (from the file named above it).
# execguard uninstall removes this file.
`

// RenderDropIn returns the drop-in for the user's configuration (load it
// with SkipDropIn).
func (c *Config) RenderDropIn(w Wiring) ([]byte, error) {
	handlers := map[string]Handler{}
	for _, h := range c.Handlers() {
		handlers[h.Name] = h
	}
	names := make([]string, 0, len(w.Paths))
	for name := range w.Paths {
		if _, ok := handlers[name]; !ok {
			return nil, fmt.Errorf("CRI-O config: no runtime handler %q", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)

	var b strings.Builder
	b.WriteString(header)
	b.WriteString("\n[crio.nri]\nenable_nri = true\n")
	if w.AllowConnections && !c.NRI().ConnectionsAllowed {
		b.WriteString("nri_disable_connections = false\n")
	}
	for _, name := range names {
		h := handlers[name]
		t := deepCopy(h.Table)
		t["runtime_path"] = w.Paths[name]
		key, err := tomledit.Key(name)
		if err != nil {
			return nil, err
		}
		var body bytes.Buffer
		enc := toml.NewEncoder(&body)
		enc.SetTablesInline(true)
		if err := enc.Encode(t); err != nil {
			return nil, fmt.Errorf("render CRI-O drop-in: %w", err)
		}
		origin := "CRI-O's built-in defaults"
		if !h.BuiltIn {
			origin = h.Origin
		}
		fmt.Fprintf(&b, "\n# %s: settings from %s\n[crio.runtime.runtimes.%s]\n%s", name, origin, key, body.String())
	}
	return []byte(b.String()), nil
}

func deepCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch t := v.(type) {
		case map[string]any:
			out[k] = deepCopy(t)
		case []any:
			out[k] = append([]any(nil), t...)
		default:
			out[k] = v
		}
	}
	return out
}

// Check loads what CRI-O would load with the drop-in as given and verifies
// that every handler of w runs its path and NRI is on.
func Check(src Source, dropIn []byte, w Wiring) error {
	src.SkipDropIn = false
	src.Overlay = map[string][]byte{src.DropIn(): dropIn}
	c, err := Load(src)
	if err != nil {
		return err
	}
	var problems []string
	for name, p := range w.Paths {
		t := c.Runtimes[name]
		if got, _ := t["runtime_path"].(string); got != p {
			problems = append(problems, fmt.Sprintf("handler %s would run %q, not %s: %s, read after the drop-in, replaces it", name, got, p, c.Origin[name]))
		}
	}
	n := c.NRI()
	if !n.Enabled {
		problems = append(problems, "NRI would stay disabled by a file read after the drop-in")
	}
	if w.AllowConnections && !n.ConnectionsAllowed {
		problems = append(problems, "NRI would refuse external plugins (nri_disable_connections) by a file read after the drop-in")
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return fmt.Errorf("CRI-O config %s: %s", src.DropInDir, strings.Join(problems, "; "))
	}
	return nil
}

// Stale lists the handlers whose settings in the drop-in differ from the
// user's configuration (loaded with SkipDropIn) beyond runtime_path: CRI-O
// uses the drop-in's copy, so the user's later edits do not apply.
func (c *Config) Stale(dropIn []byte) ([]string, error) {
	tree, err := tomledit.Parse("CRI-O config "+c.DropIn(), dropIn)
	if err != nil {
		return nil, err
	}
	runtimes, err := sub(tree, "crio", "runtime", "runtimes")
	if err != nil {
		return nil, err
	}
	user := map[string]Handler{}
	for _, h := range c.Handlers() {
		user[h.Name] = h
	}
	var out []string
	for name, v := range runtimes {
		t, _ := v.(map[string]any)
		h, ok := user[name]
		if !ok {
			out = append(out, name+" (no longer configured)")
			continue
		}
		a, b := deepCopy(h.Table), deepCopy(t)
		delete(a, "runtime_path")
		delete(b, "runtime_path")
		if fmt.Sprint(a) != fmt.Sprint(b) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}
