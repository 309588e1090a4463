package install

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/install/containerd"
	"github.com/execguard/execguard/install/crio"
	"github.com/execguard/execguard/install/fsplan"
	"github.com/execguard/execguard/install/tomledit"
	"github.com/execguard/execguard/plugin"
)

// node is a host file system in a temp dir with fake runtime binaries.
type node struct {
	t    *testing.T
	host fsplan.Host
	opts Options
}

var fakeRuntimes = []string{"/usr/sbin/runc", "/usr/bin/crun", "/usr/bin/nvidia-container-runtime", "/usr/bin/containerd-shim-kata-v2"}

func newNode(t *testing.T, files map[string]string) *node {
	t.Helper()
	root := t.TempDir()
	n := &node{t: t, host: fsplan.Host{Root: root}}
	for _, p := range fakeRuntimes {
		n.write(p, "#!/bin/sh\n# fake "+filepath.Base(p)+"\n", 0o755)
	}
	for p, c := range files {
		n.write(p, c, 0o644)
	}
	src := t.TempDir()
	wrapper, plug, shim := filepath.Join(src, "execguard-runtime"), filepath.Join(src, "execguard-nri"), filepath.Join(src, containerd.ShimBinary)
	os.WriteFile(wrapper, []byte("\x7fELF fake wrapper\x00"), 0o755)
	os.WriteFile(plug, []byte("\x7fELF fake plugin\x00"), 0o755)
	os.WriteFile(shim, []byte("\x7fELF fake shim\x00"), 0o755)
	// The tests written for the wrapper front name it; the shim front's
	// tests set Front themselves.
	n.opts = Options{Paths: Paths{Root: root}, WrapperSource: wrapper, PluginSource: plug, ShimSource: shim, Front: FrontWrapper}
	return n
}

func testdata(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (n *node) write(p, content string, mode os.FileMode) {
	n.t.Helper()
	if err := os.MkdirAll(filepath.Dir(n.host.Local(p)), 0o755); err != nil {
		n.t.Fatal(err)
	}
	if err := os.WriteFile(n.host.Local(p), []byte(content), mode); err != nil {
		n.t.Fatal(err)
	}
}

func (n *node) read(p string) string {
	n.t.Helper()
	b, err := os.ReadFile(n.host.Local(p))
	if err != nil {
		n.t.Fatal(err)
	}
	return string(b)
}

// snapshot is every path under the root with its type, mode and content.
func (n *node) snapshot() map[string]string {
	n.t.Helper()
	out := map[string]string{}
	err := filepath.Walk(n.host.Root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(n.host.Root, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			tgt, _ := os.Readlink(p)
			out[rel] = "symlink " + tgt
		case fi.IsDir():
			out[rel] = "dir " + fi.Mode().Perm().String()
		default:
			b, _ := os.ReadFile(p)
			out[rel] = fi.Mode().Perm().String() + " " + string(b)
		}
		return nil
	})
	if err != nil {
		n.t.Fatal(err)
	}
	return out
}

func (n *node) sameAs(before map[string]string, when string) {
	n.t.Helper()
	after := n.snapshot()
	for k, v := range before {
		if after[k] != v {
			n.t.Errorf("%s: %s differs from before:\n%s", when, k, fsplan.Unified(v, after[k], 2))
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			n.t.Errorf("%s: %s was not there before", when, k)
		}
	}
}

func (n *node) install(mod func(*Options)) *Result {
	n.t.Helper()
	o := n.opts
	if mod != nil {
		mod(&o)
	}
	res, err := Install(o, false)
	if err != nil {
		n.t.Fatalf("install: %v", err)
	}
	return res
}

func (n *node) uninstall(mod func(*Options)) *Result {
	n.t.Helper()
	o := n.opts
	if mod != nil {
		mod(&o)
	}
	res, err := Uninstall(o, false)
	if err != nil {
		n.t.Fatalf("uninstall: %v", err)
	}
	return res
}

// effective loads the containerd configuration as containerd would.
func (n *node) effective(major int) *containerd.Config {
	n.t.Helper()
	c, err := containerd.Load(containerd.Source{Host: n.host, Path: containerd.DefaultConfig, DropIn: containerd.DefaultDropIn, Major: major})
	if err != nil {
		n.t.Fatal(err)
	}
	return c
}

func handler(c *containerd.Config, name string) containerd.Handler {
	for _, h := range c.Handlers() {
		if h.Name == name {
			return h
		}
	}
	return containerd.Handler{}
}

func TestInstallContainerd2Default(t *testing.T) {
	n := newNode(t, map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/containerd-2.2.9-default.toml")})
	n.opts.ContainerdMajor = 2
	before := n.snapshot()
	mainBefore := n.read(containerd.DefaultConfig)

	res := n.install(nil)
	if len(res.Wired) != 1 || res.Wired[0] != (Wired{Engine: Containerd, Handler: "runc", Front: FrontWrapper, Wrapper: "/usr/local/bin/execguard-runc", Runtime: "/usr/sbin/runc"}) {
		t.Errorf("wired %+v", res.Wired)
	}
	// The default's imports glob already reaches the drop-in: the user's
	// file is not touched.
	if n.read(containerd.DefaultConfig) != mainBefore {
		t.Error("main config changed although its imports reach the drop-in")
	}
	if h := handler(n.effective(2), "runc"); h.BinaryName != "/usr/local/bin/execguard-runc" {
		t.Errorf("effective runc BinaryName %q", h.BinaryName)
	}
	if tgt, err := os.Readlink(n.host.Local("/usr/local/bin/execguard-runc")); err != nil || tgt != "execguard-runtime" {
		t.Errorf("link -> %q, %v", tgt, err)
	}
	cfg, err := config.Load(n.host.Local(config.DefaultPath))
	if err != nil || cfg.Runtimes["runc"] != "/usr/sbin/runc" {
		t.Errorf("execguard config runtimes %v, %v", cfg.Runtimes, err)
	}
	if got := n.read("/opt/nri/plugins/10-execguard"); got != "\x7fELF fake plugin\x00" {
		t.Errorf("pre-registered plugin %q", got)
	}
	conf := n.read("/etc/nri/conf.d/10-execguard.conf")
	if s, err := plugin.ParseSettings(plugin.DefaultSettings(), []byte(conf)); err != nil || s.ExecguardConfig != config.DefaultPath {
		t.Errorf("plugin configuration %q does not parse for the plugin: %v", conf, err)
	}
	next := strings.Join(res.Next, "\n")
	for _, want := range []string{"restart containerd", "keep the runtime binary they were started with until they are recreated"} {
		if !strings.Contains(next, want) {
			t.Errorf("next steps do not say %q:\n%s", want, next)
		}
	}

	// Idempotent: a second install changes nothing and says so.
	mid := n.snapshot()
	res2 := n.install(nil)
	if !res2.Plan.Empty() || res2.Applied {
		t.Errorf("second install plans:\n%s", res2.Plan.Diff())
	}
	if !strings.Contains(res2.Report(false), "nothing to change") {
		t.Errorf("second install report:\n%s", res2.Report(false))
	}
	n.sameAs(mid, "after the second install")

	n.uninstall(nil)
	n.sameAs(before, "after uninstall")
}

func TestInstallContainerd17Default(t *testing.T) {
	n := newNode(t, map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/containerd-1.7.35-default.toml")})
	n.opts.ContainerdMajor = 1
	before := n.snapshot()
	mainBefore := n.read(containerd.DefaultConfig)
	n.install(nil)
	mainAfter := n.read(containerd.DefaultConfig)
	// One line differs: the imports line.
	want := strings.Replace(mainBefore, "imports = []", `imports = ["/etc/containerd/conf.d/99-execguard.toml"]`, 1)
	if mainAfter != want {
		t.Errorf("main config edit is not minimal:\n%s", fsplan.Unified(mainBefore, mainAfter, 1))
	}
	c := n.effective(1)
	if h := handler(c, "runc"); h.BinaryName != "/usr/local/bin/execguard-runc" || h.Type != containerd.RuncV2 {
		t.Errorf("effective runc %+v", h)
	}
	if !c.NRI().Enabled {
		t.Error("NRI disabled after install on 1.7")
	}
	// The backup is the original, byte for byte.
	if b := n.read("/var/lib/execguard/backup/files/etc/containerd/config.toml"); b != mainBefore {
		t.Error("backup differs from the original")
	}
	n.uninstall(nil)
	n.sameAs(before, "after uninstall")
}

func TestInstallCustomRuntimes(t *testing.T) {
	n := newNode(t, map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/custom-2.x.toml")})
	n.opts.ContainerdMajor = 2
	before := n.snapshot()
	res := n.install(nil)
	want := []Wired{
		{Containerd, "crun", FrontWrapper, "/usr/local/bin/execguard-crun", "", "/usr/bin/crun"},
		{Containerd, "nvidia", FrontWrapper, "/usr/local/bin/execguard-nvidia-container-runtime", "", "/usr/bin/nvidia-container-runtime"},
		{Containerd, "runc", FrontWrapper, "/usr/local/bin/execguard-runc", "", "/usr/sbin/runc"},
	}
	if !slices.Equal(res.Wired, want) {
		t.Errorf("wired %+v, want %+v", res.Wired, want)
	}
	if !slices.ContainsFunc(res.Notes, func(s string) bool { return strings.Contains(s, "kata") && strings.Contains(s, "not runc-based") }) {
		t.Errorf("no note about kata: %v", res.Notes)
	}
	c := n.effective(2)
	for _, w := range want {
		if h := handler(c, w.Handler); h.BinaryName != w.Wrapper {
			t.Errorf("%s BinaryName %q", w.Handler, h.BinaryName)
		}
	}
	if !c.NRI().Enabled {
		t.Error("NRI still disabled")
	}
	cfg, _ := config.Load(n.host.Local(config.DefaultPath))
	for _, w := range want {
		name := strings.TrimPrefix(filepath.Base(w.Wrapper), "execguard-")
		if cfg.Runtimes[name] != w.Runtime {
			t.Errorf("runtimes.%s = %q, want %q", name, cfg.Runtimes[name], w.Runtime)
		}
	}
	n.uninstall(nil)
	n.sameAs(before, "after uninstall")

	// Only the handlers named.
	res = n.install(func(o *Options) { o.Runtimes = []string{"nvidia"} })
	if len(res.Wired) != 1 || res.Wired[0].Handler != "nvidia" {
		t.Errorf("named nvidia: wired %+v", res.Wired)
	}
	if h := handler(n.effective(2), "runc"); h.BinaryName != "" {
		t.Errorf("runc wired although only nvidia was named: %q", h.BinaryName)
	}
	n.uninstall(nil)
	n.sameAs(before, "after the second uninstall")
}

func TestDryRunPrintsDiffAndWritesNothing(t *testing.T) {
	n := newNode(t, map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/containerd-1.7.35-default.toml")})
	n.opts.ContainerdMajor = 1
	before := n.snapshot()
	res, err := Install(n.opts, true)
	if err != nil {
		t.Fatal(err)
	}
	n.sameAs(before, "after a dry run")
	out := res.Report(true)
	for _, want := range []string{
		"--- /etc/containerd/config.toml\n+++ /etc/containerd/config.toml\n",
		"-imports = []\n+imports = [\"/etc/containerd/conf.d/99-execguard.toml\"]\n",
		"--- /dev/null\n+++ /etc/containerd/conf.d/99-execguard.toml\n",
		"+            BinaryName = '/usr/local/bin/execguard-runc'\n",
		"/usr/local/bin/execguard-runtime: absent -> binary file",
		"/usr/local/bin/execguard-runc: absent -> symlink to execguard-runtime",
		"+runc = \"/usr/sbin/runc\"\n",
		"restart containerd",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	// The diff is the change: applying it gives the files the diff shows.
	n.install(nil)
	for _, s := range res.Plan.Steps {
		st, err := n.host.Read(s.Path)
		if err != nil || !st.Equal(s.Want) {
			t.Errorf("%s after install differs from the dry run's plan", s.Path)
		}
	}
}

func TestBadInputWritesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		mod   func(*node)
		want  []string
	}{
		{name: "unparseable containerd config", files: map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/bad-syntax.toml")},
			want: []string{containerd.DefaultConfig, "line 2", "nothing written"}},
		{name: "unknown config version", files: map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/version-4.toml")},
			want: []string{containerd.DefaultConfig, "unknown config version 4", "nothing written"}},
		{name: "config version 1", files: map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/version-1.toml")},
			want: []string{containerd.DefaultConfig, "version 1", "nothing written"}},
		{name: "missing runtime binary", files: map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/custom-2.x.toml")},
			mod:  func(n *node) { os.Remove(n.host.Local("/usr/bin/nvidia-container-runtime")) },
			want: []string{`"nvidia"`, "/usr/bin/nvidia-container-runtime", "no such file or directory", containerd.DefaultConfig, "nothing written"}},
		{name: "runc not installed", files: map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/containerd-2.2.9-default.toml")},
			mod:  func(n *node) { os.Remove(n.host.Local("/usr/sbin/runc")) },
			want: []string{`"runc"`, "runc: not found", "nothing written"}},
		{name: "unparseable CRI-O drop-in", files: map[string]string{"/etc/crio/crio.conf.d/10-x.conf": "[crio.nri\n"},
			want: []string{"/etc/crio/crio.conf.d/10-x.conf", "line 1", "nothing written"}},
		{name: "invalid execguard config", files: map[string]string{containerd.DefaultConfig: "version = 3\n", config.DefaultPath: "fail_mode = \"sideways\"\n"},
			want: []string{config.DefaultPath, "fail_mode", "nothing written"}},
		{name: "wrapper binary missing", files: map[string]string{containerd.DefaultConfig: "version = 3\n"},
			mod:  func(n *node) { n.opts.WrapperSource = "/nonexistent/execguard-runtime" },
			want: []string{"/nonexistent/execguard-runtime", "nothing written"}},
		{name: "configuration beside the wrapper", files: map[string]string{containerd.DefaultConfig: "version = 3\n", "/usr/local/bin/execguard.toml": "[runtimes]\n"},
			want: []string{"/usr/local/bin/execguard.toml", "reads it instead of /etc/execguard/config.toml", "nothing written"}},
		{name: "unknown handler named", files: map[string]string{containerd.DefaultConfig: "version = 3\n"},
			mod:  func(n *node) { n.opts.Runtimes = []string{"gvisor"} },
			want: []string{`"gvisor"`, "containerd: runc", "nothing written"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, tc.files)
			n.opts.ContainerdMajor = 2
			if tc.mod != nil {
				tc.mod(n)
			}
			before := n.snapshot()
			_, err := Install(n.opts, false)
			if err == nil {
				t.Fatal("install succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			n.sameAs(before, "after the failed install")
		})
	}
}

// TestReadOnlyFileSystem mounts the node's /etc read-only: the installer
// must refuse before writing anything, naming the file.
func TestReadOnlyFileSystem(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a read-only file system")
	}
	n := newNode(t, map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/containerd-1.7.35-default.toml")})
	n.opts.ContainerdMajor = 1
	etc := n.host.Local("/etc")
	if err := unix.Mount(etc, etc, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind mount: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(etc, unix.MNT_DETACH) })
	if err := unix.Mount("", etc, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	before := n.snapshot()
	_, err := Install(n.opts, false)
	if err == nil {
		t.Fatal("install succeeded on a read-only /etc")
	}
	t.Logf("error: %v", err)
	for _, w := range []string{"/etc/containerd/config.toml", "read-only file system", "nothing written"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	n.sameAs(before, "after the refused install")
}

func TestUninstallKeepsLaterUserEdits(t *testing.T) {
	n := newNode(t, map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/containerd-1.7.35-default.toml")})
	n.opts.ContainerdMajor = 1
	orig := n.read(containerd.DefaultConfig)
	n.install(nil)
	// The user changes their file after install.
	edited := strings.Replace(n.read(containerd.DefaultConfig), "oom_score = 0", "oom_score = -500", 1)
	n.write(containerd.DefaultConfig, edited, 0o644)
	res := n.uninstall(nil)
	want := strings.Replace(orig, "oom_score = 0", "oom_score = -500", 1)
	if got := n.read(containerd.DefaultConfig); got != want {
		t.Errorf("main config after uninstall:\n%s", fsplan.Unified(want, got, 1))
	}
	if !slices.ContainsFunc(res.Notes, func(s string) bool { return strings.Contains(s, "only the import line") }) {
		t.Errorf("notes %v", res.Notes)
	}
	if n.host.Exists(containerd.DefaultDropIn) || n.host.Exists("/var/lib/execguard/backup/manifest.json") {
		t.Error("drop-in or manifest left behind")
	}
}

func TestUninstallConflict(t *testing.T) {
	n := newNode(t, map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/containerd-2.2.9-default.toml")})
	n.opts.ContainerdMajor = 2
	before := n.snapshot()
	n.install(nil)
	n.write(containerd.DefaultDropIn, "# mine now\nversion = 3\n", 0o644)
	_, err := Uninstall(n.opts, false)
	if err == nil || !strings.Contains(err.Error(), containerd.DefaultDropIn) || !strings.Contains(err.Error(), "changed since install") {
		t.Fatalf("uninstall = %v, want a conflict on the drop-in", err)
	}
	if got := n.read(containerd.DefaultDropIn); got != "# mine now\nversion = 3\n" {
		t.Error("the changed drop-in was not left alone")
	}
	n.uninstall(func(o *Options) { o.Force = true })
	n.sameAs(before, "after a forced uninstall")
}

func TestUninstallKeepsWrapperInUse(t *testing.T) {
	n := newNode(t, map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/containerd-2.2.9-default.toml")})
	n.opts.ContainerdMajor = 2
	before := n.snapshot()
	n.install(nil)
	// A container created while installed: its shim options name the wrapper.
	bundle := "/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc123"
	n.write(bundle+"/options.json", `{"binary_name":"/usr/local/bin/execguard-runc"}`, 0o600)
	res := n.uninstall(nil)
	if !slices.ContainsFunc(res.Notes, func(s string) bool { return strings.Contains(s, "k8s.io/abc123") }) {
		t.Errorf("notes %v: want the container that keeps the wrapper", res.Notes)
	}
	if !n.host.Exists("/usr/local/bin/execguard-runc") || !n.host.Exists(config.DefaultPath) {
		t.Error("wrapper or its configuration removed while a container uses it")
	}
	if n.host.Exists(containerd.DefaultDropIn) {
		t.Error("drop-in not removed")
	}
	os.RemoveAll(n.host.Local("/run"))
	n.uninstall(nil)
	n.sameAs(before, "after the container went and uninstall ran again")
}

func TestInstallCRIO(t *testing.T) {
	n := newNode(t, map[string]string{
		crio.DefaultConfig:                   testdata(t, "crio/testdata/crio.conf"),
		"/etc/crio/crio.conf.d/10-crun.conf": testdata(t, "crio/testdata/crio.conf.d/10-crun.conf"),
	})
	before := n.snapshot()
	res := n.install(nil)
	want := []Wired{
		{CRIO, "crun", FrontWrapper, "/usr/local/libexec/execguard/crun", "", "/usr/bin/crun"},
		{CRIO, "runc", FrontWrapper, "/usr/local/libexec/execguard/runc", "", "/usr/sbin/runc"},
	}
	if !slices.Equal(res.Wired, want) {
		t.Errorf("wired %+v", res.Wired)
	}
	c, err := crio.Load(crio.Source{Host: n.host, Path: crio.DefaultConfig, DropInDir: crio.DefaultDropInDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if got := c.Runtimes[w.Handler]["runtime_path"]; got != w.Wrapper {
			t.Errorf("%s runtime_path %v", w.Handler, got)
		}
	}
	if c.Runtimes["runc"]["monitor_path"] != "/usr/libexec/crio/conmon" || c.Runtimes["kata"]["runtime_type"] != "vm" {
		t.Errorf("handler settings lost: %v", c.Runtimes)
	}
	if !c.NRI().Enabled {
		t.Error("NRI off")
	}
	if tgt, _ := os.Readlink(n.host.Local("/usr/local/libexec/execguard/crun")); tgt != "../../bin/execguard-runtime" {
		t.Errorf("CRI-O link -> %q", tgt)
	}
	if r, err := n.host.Resolve("/usr/local/libexec/execguard/crun"); err != nil || r != "/usr/local/bin/execguard-runtime" {
		t.Errorf("CRI-O link resolves to %q, %v", r, err)
	}
	if !strings.Contains(strings.Join(res.Next, "\n"), "restart CRI-O") {
		t.Errorf("next %v", res.Next)
	}
	if again := n.install(nil); !again.Plan.Empty() {
		t.Errorf("second install:\n%s", again.Plan.Diff())
	}
	n.uninstall(nil)
	n.sameAs(before, "after uninstall")
}

func TestCRIOMissingConfiguredRuntime(t *testing.T) {
	n := newNode(t, map[string]string{"/etc/crio/crio.conf.d/10-crun.conf": testdata(t, "crio/testdata/crio.conf.d/10-crun.conf")})
	os.Remove(n.host.Local("/usr/bin/crun"))
	before := n.snapshot()
	_, err := Install(n.opts, false)
	if err == nil || !strings.Contains(err.Error(), `"crun"`) || !strings.Contains(err.Error(), "/etc/crio/crio.conf.d/10-crun.conf") {
		t.Fatalf("install = %v", err)
	}
	n.sameAs(before, "after the failed install")

	// CRI-O's built-in crun, not configured and not installed, is skipped.
	m := newNode(t, map[string]string{"/etc/crio/crio.conf.d/00-base.conf": "[crio.runtime]\ndefault_runtime = \"runc\"\n[crio.runtime.runtimes.runc]\nruntime_type = \"oci\"\n"})
	os.Remove(m.host.Local("/usr/bin/crun"))
	res := m.install(nil)
	if len(res.Wired) != 1 || res.Wired[0].Handler != "runc" {
		t.Errorf("wired %+v", res.Wired)
	}
	if !slices.ContainsFunc(res.Notes, func(s string) bool { return strings.Contains(s, "crun is not installed") }) {
		t.Errorf("notes %v", res.Notes)
	}
}

func TestNRIModes(t *testing.T) {
	files := map[string]string{containerd.DefaultConfig: "version = 3\n[plugins.'io.containerd.nri.v1.nri']\ndisable_connections = true\n"}
	n := newNode(t, files)
	n.opts.ContainerdMajor = 2
	before := n.snapshot()
	res := n.install(func(o *Options) { o.NRI = NRISystemd })
	unit := n.read("/etc/systemd/system/execguard-nri.service")
	if !strings.Contains(unit, "ExecStart=/usr/local/bin/execguard-nri nri run --socket /var/run/nri/nri.sock --execguard-config /etc/execguard/config.toml") {
		t.Errorf("unit:\n%s", unit)
	}
	if n.read("/usr/local/bin/execguard-nri") != "\x7fELF fake plugin\x00" {
		t.Error("plugin binary not installed")
	}
	if !n.effective(2).NRI().ConnectionsAllowed {
		t.Error("external plugins still refused")
	}
	if !strings.Contains(strings.Join(res.Next, "\n"), "systemctl daemon-reload && systemctl enable --now execguard-nri.service") {
		t.Errorf("next %v", res.Next)
	}
	if n.host.Exists("/opt/nri/plugins/10-execguard") {
		t.Error("pre-registered as well")
	}
	res = n.uninstall(nil)
	if !strings.Contains(strings.Join(res.Next, "\n"), "systemctl disable --now execguard-nri.service") {
		t.Errorf("uninstall next %v", res.Next)
	}
	n.sameAs(before, "after uninstall")

	// external: nothing registered, connections allowed; a custom index.
	n.install(func(o *Options) { o.NRI = NRIExternal })
	if n.host.Exists("/usr/local/bin/execguard-nri") || n.host.Exists("/opt/nri/plugins/10-execguard") {
		t.Error("external mode installed the plugin")
	}
	n.uninstall(nil)
	n.install(func(o *Options) { o.NRIIndex = "42" })
	if !n.host.Exists("/opt/nri/plugins/42-execguard") || !n.host.Exists("/etc/nri/conf.d/42-execguard.conf") {
		t.Error("index 42 not used")
	}
	n.uninstall(nil)
	n.sameAs(before, "after the last uninstall")
	if _, err := Install(Options{Paths: n.opts.Paths, NRIIndex: "1"}, true); err == nil {
		t.Error("one-digit index accepted")
	}
}

func TestExecguardConfigKeepsUserSettings(t *testing.T) {
	user := "# mine\nevent_log = \"/var/log/x.ndjson\"   # keep\ninteractive_action = 'block'\n\n[runtimes]\nrunc = '/usr/sbin/runc'\n"
	n := newNode(t, map[string]string{containerd.DefaultConfig: "version = 3\n", config.DefaultPath: user})
	n.opts.ContainerdMajor = 2
	res := n.install(nil)
	for _, s := range res.Plan.Steps {
		if s.Path == config.DefaultPath {
			t.Errorf("execguard config rewritten although it already records runc:\n%s", fsplan.StepDiff(s))
		}
	}
	n.uninstall(nil)
	n.write(config.DefaultPath, strings.Replace(user, "'/usr/sbin/runc'", "'/opt/old/runc'", 1), 0o600)
	os.Chmod(n.host.Local(config.DefaultPath), 0o600)
	n.install(nil)
	got := n.read(config.DefaultPath)
	if want := strings.Replace(user, "'/usr/sbin/runc'", `"/usr/sbin/runc"`, 1); got != want {
		t.Errorf("execguard config:\n%s", fsplan.Unified(want, got, 1))
	}
	if st, _ := n.host.Read(config.DefaultPath); st.Mode != 0o600 {
		t.Errorf("mode %v, want the file's own 0600", st.Mode)
	}
}

func TestStatus(t *testing.T) {
	n := newNode(t, map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/custom-2.x.toml")})
	n.opts.ContainerdMajor = 2
	st, err := GetStatus(n.opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Installed || st.OK() || st.Engines[0].Configured() {
		t.Errorf("status before install: %+v", st)
	}
	if !slices.Contains(st.Warnings, ClusterIDWarning) || !strings.Contains(st.Text(), "cluster_id is not set") {
		t.Errorf("no cluster_id configured, but status does not warn: %v", st.Warnings)
	}
	n.install(nil)
	st, err = GetStatus(n.opts)
	if err != nil {
		t.Fatal(err)
	}
	e := st.Engines[0]
	if !st.Installed || e.Name != Containerd || !e.DropInActive || !e.NRI.Enabled || e.NRI.Registered != "/opt/nri/plugins/10-execguard" {
		t.Errorf("engine %+v", e)
	}
	wrapped := map[string]string{}
	for _, h := range e.Handlers {
		if h.Wrapped {
			wrapped[h.Name] = h.Real
		}
	}
	if len(wrapped) != 3 || wrapped["runc"] != "/usr/sbin/runc" || wrapped["nvidia"] != "/usr/bin/nvidia-container-runtime" {
		t.Errorf("wrapped handlers %v", wrapped)
	}
	if st.Plugin.Known || !slices.ContainsFunc(st.Problems, func(s string) bool { return strings.Contains(s, "plugin: unknown (no status file") }) {
		t.Errorf("plugin %+v, problems %v", st.Plugin, st.Problems)
	}
	if !st.EventLog.Writable || !st.Policy.Loaded || st.Policy.Revision == "" {
		t.Errorf("event log %+v, policy %+v", st.EventLog, st.Policy)
	}

	// The plugin's status file gives connection and coverage.
	stateDir := n.host.Local("/run/execguard")
	if err := plugin.WriteStatus(stateDir, plugin.Status{PID: os.Getpid(), Mode: "pre-registered", Connected: true, Started: time.Now(), Updated: time.Now(),
		Runtime: plugin.Runtime{Name: "containerd", Version: "v2.2.9"}, Covered: []string{"a", "b"},
		Uncovered: []plugin.UncoveredInfo{{ID: "c0ffee", Namespace: "prod", Pod: "web"}}}); err != nil {
		t.Fatal(err)
	}
	st, _ = GetStatus(n.opts)
	if !st.Plugin.Connected || st.Plugin.Covered != 2 || st.Plugin.Containers != 3 {
		t.Errorf("plugin %+v", st.Plugin)
	}
	text := st.Text()
	for _, want := range []string{"execguard covers 2 of 3 running containers", "handler runc: /usr/local/bin/execguard-runc -> /usr/sbin/runc (wrapper front)",
		"handler kata: (default) (not wrapped: not runc-based", "plugin:      connected", "1 running container(s) run neither on execguard's shim nor through the wrapper: c0ffee (prod/web)"} {
		if !strings.Contains(text, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}
	// A policy that does not load is reported.
	n.write(config.DefaultPath, "policy = \"/etc/execguard/policy.yaml\"\n"+n.read(config.DefaultPath), 0o644)
	st, _ = GetStatus(n.opts)
	if st.Policy.Loaded || !strings.Contains(st.Policy.Error, "/etc/execguard/policy.yaml") {
		t.Errorf("policy %+v", st.Policy)
	}
}

func TestStatusUnwritableEventLog(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a read-only file system")
	}
	n := newNode(t, map[string]string{containerd.DefaultConfig: "version = 3\n"})
	n.opts.ContainerdMajor = 2
	n.install(nil)
	logDir := n.host.Local("/var/log/execguard")
	os.MkdirAll(logDir, 0o755)
	if err := unix.Mount("tmpfs", logDir, "tmpfs", unix.MS_RDONLY, "size=1m"); err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(logDir, unix.MNT_DETACH) })
	st, err := GetStatus(n.opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.EventLog.Writable || !strings.Contains(st.EventLog.Error, "read-only file system") {
		t.Errorf("event log %+v", st.EventLog)
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	// Paths the installer writes survive TOML quoting.
	for _, p := range []string{"/usr/local/bin/execguard-runc", `/opt/we"ird\path`} {
		q, err := tomledit.Quote(p)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := tomledit.Parse("x", []byte("k = "+q+"\n"))
		if err != nil || tree["k"] != p {
			t.Errorf("%s -> %s -> %v (%v)", p, q, tree["k"], err)
		}
	}
}

func TestInstallPolicy(t *testing.T) {
	if _, err := config.Parse("probe", []byte("policy = \"/p\"\n")); err != nil {
		t.Skipf("the config package does not know the policy key yet (%v)", err)
	}
	n := newNode(t, map[string]string{containerd.DefaultConfig: "version = 3\n"})
	n.opts.ContainerdMajor = 2
	before := n.snapshot()
	src := filepath.Join(t.TempDir(), "policy.yaml")
	valid := "process:\n  selectors:\n    - name: interactive\n      operation: [exec]\n      sessionLeaderInteractive: true\n  responses:\n    - match: [interactive]\n      actions: [alert]\n"
	os.WriteFile(src, []byte(valid), 0o644)
	n.install(func(o *Options) { o.PolicySource = src })
	if got := n.read("/etc/execguard/policy.yaml"); got != valid {
		t.Errorf("installed policy %q", got)
	}
	tree, err := tomledit.Parse("config", []byte(n.read(config.DefaultPath)))
	if err != nil || tree["policy"] != "/etc/execguard/policy.yaml" {
		t.Errorf("config policy %v (%v)", tree["policy"], err)
	}
	st, _ := GetStatus(n.opts)
	if !st.Policy.Loaded || st.Policy.Path != "/etc/execguard/policy.yaml" || st.Policy.Revision == "" {
		t.Errorf("status policy %+v", st.Policy)
	}
	if again := n.install(func(o *Options) { o.PolicySource = src }); !again.Plan.Empty() {
		t.Errorf("second install:\n%s", again.Plan.Diff())
	}
	n.uninstall(nil)
	n.sameAs(before, "after uninstall")

	os.WriteFile(src, []byte("process:\n  selectors:\n    - name: x\n      operation: [nope]\n"), 0o644)
	bad := n.opts
	bad.PolicySource = src
	_, err = Install(bad, false)
	if err == nil || !strings.Contains(err.Error(), src) || !strings.Contains(err.Error(), "nothing written") {
		t.Errorf("invalid policy: %v", err)
	}
	n.sameAs(before, "after the refused install")
}

func TestStatusReportsStaleCopyOn17(t *testing.T) {
	n := newNode(t, map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/custom-1.7.toml")})
	n.opts.ContainerdMajor = 1
	n.install(nil)
	st, _ := GetStatus(n.opts)
	if len(st.Engines[0].Stale) != 0 {
		t.Fatalf("fresh install stale: %v", st.Engines[0].Stale)
	}
	// The user edits the CRI section of their file: containerd 1.7 ignores
	// it while the drop-in's copy is imported.
	n.write(containerd.DefaultConfig, strings.Replace(n.read(containerd.DefaultConfig), "pause:3.9", "pause:3.10", 1), 0o644)
	st, _ = GetStatus(n.opts)
	if !slices.Equal(st.Engines[0].Stale, []string{"io.containerd.grpc.v1.cri.sandbox_image"}) ||
		!slices.ContainsFunc(st.Problems, func(s string) bool { return strings.Contains(s, "out of date") }) {
		t.Errorf("stale %v, problems %v", st.Engines[0].Stale, st.Problems)
	}
	// Installing again refreshes the copy.
	res := n.install(nil)
	if len(res.Plan.Steps) != 1 || res.Plan.Steps[0].Path != containerd.DefaultDropIn {
		t.Errorf("refresh plan:\n%s", res.Plan.Diff())
	}
	if st, _ = GetStatus(n.opts); len(st.Engines[0].Stale) != 0 {
		t.Errorf("still stale after install: %v", st.Engines[0].Stale)
	}
}

const shimPath = "/usr/local/bin/" + containerd.ShimBinary

// userHandlers is the containerd configuration as the user wrote it.
func (n *node) userHandlers(major int) map[string]containerd.Handler {
	n.t.Helper()
	c, err := containerd.Load(containerd.Source{Host: n.host, Path: containerd.DefaultConfig, DropIn: containerd.DefaultDropIn, Major: major, SkipDropIn: true})
	if err != nil {
		n.t.Fatal(err)
	}
	out := map[string]containerd.Handler{}
	for _, h := range c.Handlers() {
		out[h.Name] = h
	}
	return out
}

// TestShimFront installs the shim front on real configuration files of both
// versions, checks what containerd would load, that a second install
// changes nothing, switches to the wrapper and back, and uninstalls byte
// for byte.
func TestShimFront(t *testing.T) {
	for _, tc := range []struct {
		file    string
		major   int
		handler []string // the handlers wired
	}{
		{"containerd-2.2.9-default.toml", 2, []string{"runc"}},
		{"containerd-1.7.35-default.toml", 1, []string{"runc"}},
		{"custom-2.x.toml", 2, []string{"crun", "nvidia", "runc"}},
		{"custom-1.7.toml", 1, []string{"runc"}},
	} {
		for _, typ := range []string{"", containerd.ShimType} {
			wantType := typ
			if typ == "" {
				wantType = containerd.RuncV2 // the default
			}
			t.Run(tc.file+" "+wantType, func(t *testing.T) {
				testShimFront(t, tc.file, tc.major, tc.handler, typ, wantType)
			})
		}
	}
}

// testShimFront is one case of TestShimFront: typ is the runtime type
// asked for ("" for the default), wantType the one containerd must load.
func testShimFront(t *testing.T, file string, major int, wired []string, typ, wantType string) {
	n := newNode(t, map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/"+file)})
	n.opts.ContainerdMajor = major
	n.opts.Front = "" // the default
	n.opts.ShimRuntimeType = typ
	before := n.snapshot()
	user := n.userHandlers(major)

	dry, err := Install(n.opts, true)
	if err != nil {
		t.Fatal(err)
	}
	n.sameAs(before, "after a dry run")
	diff := dry.Report(true)
	for _, want := range []string{"runtime_type = '" + wantType + "'", "runtime_path = '" + shimPath + "'",
		shimPath + ": absent -> binary file", "restart containerd", "keep the shim they were started with"} {
		if !strings.Contains(diff, want) {
			t.Errorf("dry run lacks %q:\n%s", want, diff)
		}
	}
	if strings.Contains(diff, "execguard-runtime") || strings.Contains(diff, "execguard-runc") {
		t.Errorf("the shim front installs the wrapper or changes BinaryName:\n%s", diff)
	}

	res := n.install(nil)
	var got []string
	for _, w := range res.Wired {
		got = append(got, w.Handler)
		if w.Front != FrontShim || w.Shim != shimPath || w.Wrapper != "" {
			t.Errorf("wired %+v", w)
		}
	}
	if !slices.Equal(got, wired) {
		t.Errorf("wired %v, want %v", got, wired)
	}
	c := n.effective(major)
	for _, name := range wired {
		h := handler(c, name)
		if h.Type != wantType || h.RuntimePath != shimPath || h.BinaryName != user[name].BinaryName {
			t.Errorf("effective %s %+v, want the shim with BinaryName %q as the user wrote it", name, h, user[name].BinaryName)
		}
	}
	if !c.NRI().Enabled {
		t.Error("NRI off")
	}
	if st, _ := n.host.Read(shimPath); st.Kind != fsplan.File || st.Mode != 0o755 || string(st.Data) != "\x7fELF fake shim\x00" {
		t.Errorf("shim binary %s", st)
	}
	if n.host.Exists("/usr/local/bin/execguard-runtime") {
		t.Error("wrapper installed with the shim front")
	}
	if again := n.install(nil); !again.Plan.Empty() {
		t.Errorf("second install:\n%s", again.Plan.Diff())
	}

	// To the wrapper: containerd's runc shim again, BinaryName the
	// wrapper; back to the shim: BinaryName as the user wrote it.
	n.install(func(o *Options) { o.Front = FrontWrapper })
	c = n.effective(major)
	for _, name := range wired {
		h := handler(c, name)
		if h.Type != user[name].Type || h.RuntimePath != user[name].RuntimePath || !strings.HasPrefix(h.BinaryName, "/usr/local/bin/execguard-") {
			t.Errorf("after switching to the wrapper %s %+v, user's %+v", name, h, user[name])
		}
	}
	n.install(func(o *Options) { o.Front = FrontShim; o.ShimRuntimeType = typ })
	c = n.effective(major)
	for _, name := range wired {
		if h := handler(c, name); h.Type != wantType || h.BinaryName != user[name].BinaryName {
			t.Errorf("after switching back to the shim %s %+v", name, h)
		}
	}
	if st, _ := GetStatus(n.opts); len(st.Engines[0].Stale) != 0 {
		t.Errorf("stale after switching: %v", st.Engines[0].Stale)
	}
	n.uninstall(nil)
	n.sameAs(before, "after uninstall")
}

// TestShimFrontRestoresRealRunc: a BinaryName that names the wrapper in the
// user's own file becomes the real runtime it stands for.
func TestShimFrontRestoresRealRunc(t *testing.T) {
	n := newNode(t, map[string]string{
		containerd.DefaultConfig: "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]\nruntime_type = 'io.containerd.runc.v2'\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\nBinaryName = '/usr/local/bin/execguard-runc'\nSystemdCgroup = true\n",
		config.DefaultPath:       "[runtimes]\nrunc = \"/usr/sbin/runc\"\n",
	})
	n.opts.ContainerdMajor = 2
	n.opts.Front = FrontShim
	before := n.snapshot()
	res := n.install(nil)
	if len(res.Wired) != 1 || res.Wired[0].Runtime != "/usr/sbin/runc" {
		t.Errorf("wired %+v", res.Wired)
	}
	if h := handler(n.effective(2), "runc"); h.Type != containerd.RuncV2 || h.RuntimePath != shimPath || h.BinaryName != "/usr/sbin/runc" {
		t.Errorf("effective runc %+v, want the shim running /usr/sbin/runc", h)
	}
	n.uninstall(nil)
	n.sameAs(before, "after uninstall")
}

// TestShimRuntimeTypeExecguard gives the handler the shim's own runtime
// type; status still finds the shim through runtime_path.
func TestShimRuntimeTypeExecguard(t *testing.T) {
	n := newNode(t, map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/containerd-2.2.9-default.toml")})
	n.opts.ContainerdMajor = 2
	n.opts.Front = FrontShim
	n.opts.ShimRuntimeType = containerd.ShimType
	n.install(nil)
	if h := handler(n.effective(2), "runc"); h.Type != containerd.ShimType || h.RuntimePath != shimPath || h.BinaryName != "" {
		t.Errorf("effective runc %+v", h)
	}
	st, err := GetStatus(n.opts)
	if err != nil {
		t.Fatal(err)
	}
	if h := st.Engines[0].Handlers[0]; h.Front != FrontShim || h.Shim != shimPath {
		t.Errorf("status handler %+v, want the shim front", h)
	}
}

// TestFrontAutoBothEngines: containerd gets the shim, CRI-O the wrapper.
func TestFrontAutoBothEngines(t *testing.T) {
	n := newNode(t, map[string]string{
		containerd.DefaultConfig: testdata(t, "containerd/testdata/containerd-2.2.9-default.toml"),
		crio.DefaultConfig:       testdata(t, "crio/testdata/crio.conf"),
	})
	n.opts.ContainerdMajor = 2
	n.opts.Front = FrontAuto
	before := n.snapshot()
	res := n.install(nil)
	fronts := map[string]Front{}
	for _, w := range res.Wired {
		fronts[w.Engine+" "+w.Handler] = w.Front
	}
	want := map[string]Front{"containerd runc": FrontShim, "crio runc": FrontWrapper, "crio crun": FrontWrapper}
	if !maps.Equal(fronts, want) {
		t.Errorf("fronts %v, want %v", fronts, want)
	}
	if !n.host.Exists(shimPath) || !n.host.Exists("/usr/local/bin/execguard-runtime") {
		t.Error("shim or wrapper not installed")
	}
	st, err := GetStatus(n.opts)
	if err != nil {
		t.Fatal(err)
	}
	configured := map[string]Front{}
	for _, e := range st.Engines {
		for _, h := range e.Handlers {
			configured[e.Name+" "+h.Name] = h.Front
		}
	}
	for k, f := range want {
		if configured[k] != f {
			t.Errorf("status: %s front %q, want %q (all: %v)", k, configured[k], f, configured)
		}
	}
	n.uninstall(nil)
	n.sameAs(before, "after uninstall")
}

func TestShimFrontRefused(t *testing.T) {
	crioConf := map[string]string{crio.DefaultConfig: testdata(t, "crio/testdata/crio.conf")}
	both := map[string]string{crio.DefaultConfig: testdata(t, "crio/testdata/crio.conf"), containerd.DefaultConfig: "version = 3\n"}
	shimByHand := map[string]string{containerd.DefaultConfig: "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]\nruntime_type = 'io.containerd.execguard.v2'\n"}
	for _, tc := range []struct {
		name  string
		files map[string]string
		mod   func(*Options)
		want  []string
	}{
		{"shim front for CRI-O", crioConf, func(o *Options) { o.Front = FrontShim; o.Engines = []string{CRIO} },
			[]string{"CRI-O has no shim front", "--front wrapper"}},
		{"shim front, CRI-O found", both, func(o *Options) { o.Front = FrontShim },
			[]string{"CRI-O was found", "--engine containerd", "nothing written"}},
		{"no shim binary", map[string]string{containerd.DefaultConfig: "version = 3\n"}, func(o *Options) { o.Front = FrontShim; o.ShimSource = "/nonexistent/" + containerd.ShimBinary },
			[]string{"/nonexistent/" + containerd.ShimBinary, "--shim-binary", "nothing written"}},
		{"unknown front", map[string]string{containerd.DefaultConfig: "version = 3\n"}, func(o *Options) { o.Front = "sideways" },
			[]string{`front "sideways"`, "auto, shim or wrapper"}},
		{"unknown shim runtime type", map[string]string{containerd.DefaultConfig: "version = 3\n"}, func(o *Options) { o.Front = FrontShim; o.ShimRuntimeType = "io.containerd.kata.v2" },
			[]string{"io.containerd.kata.v2", containerd.RuncV2, containerd.ShimType}},
		{"wrapper over a shim set by hand", shimByHand, func(o *Options) { o.Front = FrontWrapper },
			[]string{"already runs execguard's shim", containerd.DefaultConfig, "recorded twice", "nothing written"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, tc.files)
			n.opts.ContainerdMajor = 2
			tc.mod(&n.opts)
			before := n.snapshot()
			_, err := Install(n.opts, false)
			if err == nil {
				t.Fatal("install succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			n.sameAs(before, "after the refused install")
		})
	}
}

func TestUninstallKeepsShimInUse(t *testing.T) {
	n := newNode(t, map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/containerd-2.2.9-default.toml")})
	n.opts.ContainerdMajor = 2
	n.opts.Front = FrontShim
	before := n.snapshot()
	n.install(nil)
	// A pod created while installed: containerd recorded the shim it started.
	n.write("/run/containerd/io.containerd.runtime.v2.task/k8s.io/feed01/shim-binary-path", shimPath, 0o600)
	res := n.uninstall(nil)
	if !slices.ContainsFunc(res.Notes, func(s string) bool { return strings.Contains(s, "k8s.io/feed01") }) {
		t.Errorf("notes %v: want the container that keeps the shim", res.Notes)
	}
	if !n.host.Exists(shimPath) {
		t.Error("shim removed while a container runs on it")
	}
	if n.host.Exists(containerd.DefaultDropIn) {
		t.Error("drop-in not removed")
	}
	os.RemoveAll(n.host.Local("/run"))
	n.uninstall(nil)
	n.sameAs(before, "after the container went and uninstall ran again")
}

func TestStatusShimFront(t *testing.T) {
	n := newNode(t, map[string]string{containerd.DefaultConfig: testdata(t, "containerd/testdata/custom-2.x.toml")})
	n.opts.ContainerdMajor = 2
	n.opts.Front = FrontShim
	// containerd's own runc shim stands in for execguard's: a real Go
	// binary with containerd's build information that answers -v.
	stand, err := exec.LookPath("containerd-shim-runc-v2")
	if err != nil {
		t.Skip("containerd-shim-runc-v2 not installed: no binary to stand in for the shim")
	}
	n.opts.ShimSource = stand
	n.install(nil)
	task := "/run/containerd/io.containerd.runtime.v2.task/k8s.io/"
	n.write(task+"a1/shim-binary-path", shimPath, 0o600)
	n.write(task+"b2/shim-binary-path", "/usr/local/bin/containerd-shim-runc-v2", 0o600)
	n.write(task+"b2/options.json", `{"root":"/run/containerd/runc"}`, 0o600)

	st, err := GetStatus(n.opts)
	if err != nil {
		t.Fatal(err)
	}
	e := st.Engines[0]
	fronts := map[string]Front{}
	for _, h := range e.Handlers {
		fronts[h.Name] = h.Front
		if h.Front == FrontShim && (h.Shim != shimPath || h.Type != containerd.RuncV2) {
			t.Errorf("handler %+v", h)
		}
	}
	if want := map[string]Front{"crun": FrontShim, "nvidia": FrontShim, "runc": FrontShim, "kata": ""}; !maps.Equal(fronts, want) {
		t.Errorf("fronts %v, want %v", fronts, want)
	}
	if !e.Configured() || e.Tasks == nil || *e.Tasks != (TaskCounts{Shim: 1, Neither: 1}) {
		t.Errorf("configured %v, tasks %+v", e.Configured(), e.Tasks)
	}
	sh := st.Shim
	if sh == nil || !sh.Installed || sh.Containerd != "v2.2.9" || !strings.Contains(sh.Version, "Version:") || sh.BuiltAgainst != "v2.2.9" ||
		!slices.Equal(sh.TestedWith, []string{"v2.2.9", "v1.7.35"}) {
		t.Errorf("shim status %+v", sh)
	}
	for _, p := range st.Problems {
		if strings.Contains(p, "handler") {
			t.Errorf("problem %q with a complete shim install", p)
		}
	}
	text := st.Text()
	for _, want := range []string{"handler runc: shim " + shimPath + " (io.containerd.runc.v2) -> /usr/sbin/runc (shim front)",
		"handler crun: shim " + shimPath + " (io.containerd.runc.v2) -> crun (shim front)",
		"containers: 1 on execguard's shim, 0 through the wrapper, 1 on neither",
		"shim:        " + shimPath + ", execguard unknown, containerd library v2.2.9",
		"built on containerd v2.2.9, tested with containerd v2.2.9 and v1.7.35"} {
		if !strings.Contains(text, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}

	// A later file that puts the wrapper under the shim, and the shim gone.
	n.write("/usr/local/bin/execguard-runtime", "#!/bin/sh\n", 0o755)
	if err := os.Symlink("execguard-runtime", n.host.Local("/usr/local/bin/execguard-runc")); err != nil {
		t.Fatal(err)
	}
	n.write("/etc/containerd/conf.d/zz-later.toml", "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\nBinaryName = '/usr/local/bin/execguard-runc'\n", 0o644)
	os.Remove(n.host.Local(shimPath))
	st, _ = GetStatus(n.opts)
	problems := strings.Join(st.Problems, "\n")
	for _, want := range []string{"handler runc runs execguard's shim with the wrapper as its BinaryName: every exec is recorded twice",
		"handler nvidia runs execguard's shim " + shimPath + ", which is not there"} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q:\n%s", want, problems)
		}
	}
	if st.Shim == nil || st.Shim.Installed {
		t.Errorf("shim status %+v after it was removed", st.Shim)
	}
}

func TestTestedWith(t *testing.T) {
	for v, want := range map[string]bool{"v2.2.9": true, "2.2.9": true, "v1.7.35": true, "v2.2.9+unknown": true, "v2.2.10": false, "v1.7.3": false, "v2.1.0": false} {
		if got := testedWith(v); got != want {
			t.Errorf("testedWith(%s) = %v", v, got)
		}
	}
}

// TestShimFrontWritesNoConfig: without wrappers there is no [runtimes] to
// record, and a missing configuration means the defaults.
func TestShimFrontWritesNoConfig(t *testing.T) {
	n := newNode(t, map[string]string{containerd.DefaultConfig: "version = 3\n"})
	n.opts.ContainerdMajor = 2
	n.opts.Front = FrontShim
	n.install(nil)
	if n.host.Exists(config.DefaultPath) {
		t.Errorf("%s written by the shim front:\n%s", config.DefaultPath, n.read(config.DefaultPath))
	}
}

// TestStatusUnsafeEventLog: a log directory someone else owns or may write
// (they could replace the log), and a log the writers refuse, are problems.
func TestStatusUnsafeEventLog(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another user")
	}
	const nobody = 65534
	tests := []struct {
		name    string
		dirMode uint32
		dirUID  int
		logMode os.FileMode // 0: no log yet
		logUID  int
		want    string // "" : no problem
	}{
		{name: "root's 0750 directory", dirMode: 0o750, want: ""},
		{name: "root's 0755 directory, 0600 log", dirMode: 0o755, logMode: 0o600, want: ""},
		{name: "group-writable directory", dirMode: 0o770, want: "writable by group or others (mode 0770)"},
		{name: "world-writable sticky directory", dirMode: 0o1777, want: "writable by group or others (mode 1777)"},
		{name: "directory of another user", dirMode: 0o750, dirUID: nobody, want: "owned by uid 65534, not root"},
		{name: "log of another user", dirMode: 0o750, logMode: 0o600, logUID: nobody, want: "owned by uid 65534, not root; writers refuse it"},
		{name: "group-writable log", dirMode: 0o750, logMode: 0o660, want: "writable by group or others (mode 0660); writers refuse it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t, map[string]string{containerd.DefaultConfig: "version = 3\n"})
			n.opts.ContainerdMajor = 2
			n.install(nil)
			logDir := n.host.Local(filepath.Dir(config.DefaultEventLog))
			if err := os.MkdirAll(logDir, 0o750); err != nil {
				t.Fatal(err)
			}
			if err := unix.Chmod(logDir, uint32(tt.dirMode)); err != nil { // raw mode bits: sticky too
				t.Fatal(err)
			}
			if err := os.Chown(logDir, tt.dirUID, 0); err != nil {
				t.Fatal(err)
			}
			if tt.logMode != 0 {
				log := n.host.Local(config.DefaultEventLog)
				if err := os.WriteFile(log, nil, tt.logMode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(log, tt.logMode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chown(log, tt.logUID, 0); err != nil {
					t.Fatal(err)
				}
			}
			st, err := GetStatus(n.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !wantProblem(t, st, "event log", tt.want) {
				return
			}
			if !strings.Contains(st.Text(), tt.want) {
				t.Errorf("status text does not say %q:\n%s", tt.want, st.Text())
			}
		})
	}
}

// TestStatusUnsafeStateDir: a state directory (or one of its
// subdirectories) someone else owns or may write is a problem: they could
// remove container records, coverage marks and spooled events.
func TestStatusUnsafeStateDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a directory to another user")
	}
	tests := []struct {
		name string
		sub  string
		mode uint32
		uid  int
		want string
	}{
		{"root's 0750", "", 0o750, 0, ""},
		{"root's 0755 records", "containers", 0o755, 0, ""},
		{"world-writable state directory", "", 0o777, 0, "/run/execguard is writable by group or others (mode 0777)"},
		{"group-writable records", "containers", 0o770, 0, "/run/execguard/containers is writable by group or others (mode 0770)"},
		{"spool of another user", "spool", 0o700, 65534, "/run/execguard/spool is owned by uid 65534"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t, map[string]string{containerd.DefaultConfig: "version = 3\n"})
			n.opts.ContainerdMajor = 2
			n.install(nil)
			dir := filepath.Join(n.host.Local("/run/execguard"), tt.sub)
			if err := os.MkdirAll(dir, 0o750); err != nil {
				t.Fatal(err)
			}
			if err := unix.Chmod(dir, tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, tt.uid, 0); err != nil {
				t.Fatal(err)
			}
			st, err := GetStatus(n.opts)
			if err != nil {
				t.Fatal(err)
			}
			wantProblem(t, st, "state directory", tt.want)
		})
	}
}

// wantProblem checks the status's problems about topic: none when want is
// "", else exactly one, saying want. It reports whether one was wanted.
func wantProblem(t *testing.T, st Status, topic, want string) bool {
	t.Helper()
	var found []string
	for _, p := range st.Problems {
		if strings.Contains(p, topic) {
			found = append(found, p)
		}
	}
	if want == "" {
		if len(found) > 0 {
			t.Errorf("%s problems %q, want none", topic, found)
		}
		return false
	}
	if len(found) != 1 || !strings.Contains(found[0], want) {
		t.Errorf("%s problems %q, want one saying %q", topic, found, want)
	}
	return true
}

// TestStatusDiagnostics: status shows the last lines of the wrapper's
// diagnostics file, escaped, and reports one it must not trust.
func TestStatusDiagnostics(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string
		mode    os.FileMode
		want    []string
		notWant []string
		problem string
	}{
		{"none", nil, 0, []string{"diagnostics: /run/execguard/runtime.log (none)"}, nil, ""},
		{"last lines, escaped",
			[]string{"old warning 1", "old warning 2", "w3", "w4", "w5", "w6", "spooled\x1b]0;pwned\x07 under /run/execguard"}, 0o600,
			[]string{"diagnostics: /run/execguard/runtime.log, last 5:", "w3", `spooled\x1b]0;pwned\x07 under`},
			[]string{"old warning 2", "\x1b"}, ""},
		{"group-writable", []string{"planted"}, 0o660, []string{"unreadable", "writable by group or others"}, []string{"planted"}, "wrapper diagnostics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t, map[string]string{containerd.DefaultConfig: "version = 3\n"})
			n.opts.ContainerdMajor = 2
			n.install(nil)
			if tt.lines != nil {
				var b strings.Builder
				for _, l := range tt.lines {
					b.WriteString(l + "\n")
				}
				path := filepath.Join(n.host.Local("/run/execguard"), "runtime.log")
				if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tt.mode); err != nil {
					t.Fatal(err)
				}
			}
			st, err := GetStatus(n.opts)
			if err != nil {
				t.Fatal(err)
			}
			text := st.Text()
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("status text lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(text, w) {
					t.Errorf("status text has %q:\n%s", w, text)
				}
			}
			hasProblem := slices.ContainsFunc(st.Problems, func(p string) bool { return strings.Contains(p, "wrapper diagnostics") })
			if hasProblem != (tt.problem != "") {
				t.Errorf("problems %q; want one about the diagnostics file: %v", st.Problems, tt.problem != "")
			}
		})
	}
}
