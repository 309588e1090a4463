package containerd

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/execguard/execguard/install/fsplan"
	"github.com/execguard/execguard/install/tomledit"
)

const dropIn = DefaultDropIn

// host lays out a host under a temp dir with the main config from testdata
// and any extra files.
func host(t *testing.T, mainTestdata string, extra map[string]string) fsplan.Host {
	t.Helper()
	root := t.TempDir()
	h := fsplan.Host{Root: root}
	files := map[string]string{}
	if mainTestdata != "" {
		data, err := os.ReadFile(filepath.Join("testdata", mainTestdata))
		if err != nil {
			t.Fatal(err)
		}
		files[DefaultConfig] = string(data)
	}
	for p, c := range extra {
		files[p] = c
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(h.Local(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(h.Local(p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func load(t *testing.T, h fsplan.Host, major int, skip bool) *Config {
	t.Helper()
	c, err := Load(Source{Host: h, Path: DefaultConfig, DropIn: dropIn, Major: major, SkipDropIn: skip})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func names(hs []Handler) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

func TestLoadDefaults(t *testing.T) {
	for _, tc := range []struct {
		file        string
		major       int
		wantVersion int
		wantNRI     bool
		imported    bool // the default's imports already reach the drop-in
	}{
		{"containerd-2.2.9-default.toml", 2, 3, true, true},
		{"containerd-1.7.35-default.toml", 1, 2, false, false},
		// Unknown release line: the config version decides.
		{"containerd-2.2.9-default.toml", 0, 3, true, true},
		{"containerd-1.7.35-default.toml", 0, 2, false, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c := load(t, host(t, tc.file, nil), tc.major, true)
			if c.Version != tc.wantVersion {
				t.Errorf("version %d, want %d", c.Version, tc.wantVersion)
			}
			hs := c.Handlers()
			if len(hs) != 1 || hs[0].Name != "runc" || !hs[0].RuncType() || hs[0].BinaryName != "" || hs[0].Implicit {
				t.Errorf("handlers = %+v, want the configured runc handler with an empty BinaryName", hs)
			}
			n := c.NRI()
			if n.Enabled != tc.wantNRI || n.PluginPath != "/opt/nri/plugins" || n.PluginConfigPath != "/etc/nri/conf.d" || n.Socket != "/var/run/nri/nri.sock" {
				t.Errorf("NRI = %+v, want enabled=%v and the default paths", n, tc.wantNRI)
			}
			if c.DropInImported != tc.imported {
				t.Errorf("DropInImported = %v, want %v", c.DropInImported, tc.imported)
			}
			if c.StateDir() != "/run/containerd" {
				t.Errorf("state dir %s", c.StateDir())
			}
		})
	}
}

func TestDropIn2xIsMinimal(t *testing.T) {
	h := host(t, "custom-2.x.toml", nil)
	c := load(t, h, 2, true)
	if got, want := names(c.Handlers()), []string{"crun", "kata", "nvidia", "runc"}; !slices.Equal(got, want) {
		t.Fatalf("handlers %v, want %v", got, want)
	}
	w := Wiring{Handlers: map[string]Set{"runc": {BinaryName: "/usr/local/bin/execguard-runc"}, "nvidia": {BinaryName: "/usr/local/bin/execguard-nvidia"}}}
	data, err := c.RenderDropIn(w)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := tomledit.Parse("drop-in", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	want := map[string]any{
		"version": int64(3),
		"plugins": map[string]any{
			criV3: map[string]any{"containerd": map[string]any{"runtimes": map[string]any{
				"runc":   map[string]any{"options": map[string]any{"BinaryName": "/usr/local/bin/execguard-runc"}},
				"nvidia": map[string]any{"options": map[string]any{"BinaryName": "/usr/local/bin/execguard-nvidia"}},
			}}},
			nriPlugin: map[string]any{"disable": false},
		},
	}
	if !reflect.DeepEqual(tree, want) {
		t.Errorf("drop-in:\n%s\nwant exactly BinaryName per handler and NRI on", data)
	}
	if !strings.HasPrefix(string(data), "# Written by execguard install") {
		t.Errorf("drop-in lacks its header:\n%s", data)
	}

	// Merged, every other option of each handler stays.
	main, _, err := c.RenderMain()
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(Source{Host: h, Path: DefaultConfig, DropIn: dropIn, Major: 2}, main, data, w); err != nil {
		t.Fatal(err)
	}
	merged, err := Load(Source{Host: h, Path: DefaultConfig, DropIn: dropIn, Major: 2, Overlay: map[string][]byte{dropIn: data}})
	if err != nil {
		t.Fatal(err)
	}
	runc := table(merged.Plugins, criV3, "containerd", "runtimes", "runc")
	if runc["pod_annotations"] == nil || table(runc, "options")["SystemdCgroup"] != true || table(runc, "options")["Root"] != "/run/containerd/runc" {
		t.Errorf("runc lost its options: %v", runc)
	}
	if !merged.NRI().Enabled {
		t.Error("NRI still disabled after the drop-in")
	}
	if got := table(merged.Plugins, criV3, "containerd")["default_runtime_name"]; got != "nvidia" {
		t.Errorf("default_runtime_name %v", got)
	}
}

func TestImplicitRuncHandler(t *testing.T) {
	// 2.x keeps its default runc beside configured handlers; 1.x only when
	// no runtimes table exists.
	h2 := host(t, "", map[string]string{DefaultConfig: "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.nv]\nruntime_type = 'io.containerd.runc.v2'\n"})
	hs := load(t, h2, 2, true).Handlers()
	if got := names(hs); !slices.Equal(got, []string{"nv", "runc"}) || !hs[1].Implicit {
		t.Errorf("2.x handlers %+v, want nv and the implicit runc", hs)
	}
	h1 := host(t, "", map[string]string{DefaultConfig: "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.nv]\nruntime_type = \"io.containerd.runc.v2\"\n"})
	if got := names(load(t, h1, 1, true).Handlers()); !slices.Equal(got, []string{"nv"}) {
		t.Errorf("1.x handlers %v, want only nv (a runtimes table replaces the default)", got)
	}
	h0 := host(t, "", map[string]string{DefaultConfig: "version = 2\n"})
	c := load(t, h0, 1, true)
	hs = c.Handlers()
	if len(hs) != 1 || !hs[0].Implicit {
		t.Fatalf("1.x without runtimes: %+v", hs)
	}
	data, err := c.RenderDropIn(Wiring{Handlers: map[string]Set{"runc": {BinaryName: "/w"}}})
	if err != nil {
		t.Fatal(err)
	}
	tree, _ := tomledit.Parse("d", data)
	entry := table(tree, "plugins", criV2, "containerd", "runtimes", "runc")
	if entry["runtime_type"] != RuncV2 || entry["sandbox_mode"] != "podsandbox" || table(entry, "options")["BinaryName"] != "/w" {
		t.Errorf("1.x implicit runc entry %v: want containerd 1.7's full default handler", entry)
	}
}

func TestDropIn1xCopiesSections(t *testing.T) {
	h := host(t, "custom-1.7.toml", nil)
	c := load(t, h, 1, true)
	w := Wiring{Handlers: map[string]Set{"runc": {BinaryName: "/usr/local/bin/execguard-runc"}}}
	data, err := c.RenderDropIn(w)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := tomledit.Parse("drop-in", data)
	if err != nil {
		t.Fatal(err)
	}
	cri := table(tree, "plugins", criV2)
	user := table(c.Plugins, criV2)
	// Everything the user wrote in the section, plus BinaryName.
	expect := deepCopy(user).(map[string]any)
	ensure(expect, "containerd", "runtimes", "runc", "options")["BinaryName"] = "/usr/local/bin/execguard-runc"
	if !reflect.DeepEqual(cri, expect) {
		t.Errorf("CRI copy:\n%v\nwant:\n%v", cri, expect)
	}
	if table(tree, "plugins", nriPlugin)["disable"] != false {
		t.Error("NRI not enabled")
	}
	if !strings.Contains(string(data), "complete copy of the CRI and NRI sections") {
		t.Error("1.x drop-in does not explain its copy")
	}
	if st, err := c.Stale(data); err != nil || len(st) != 0 {
		t.Errorf("fresh drop-in stale: %v %v", st, err)
	}

	// The user changes the section in their file: the copy is stale.
	orig, _ := os.ReadFile(h.Local(DefaultConfig))
	edited := strings.Replace(string(orig), "pause:3.9", "pause:3.10", 1)
	if err := os.WriteFile(h.Local(DefaultConfig), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := load(t, h, 1, true).Stale(data)
	if err != nil || !slices.Equal(st, []string{criV2 + ".sandbox_image"}) {
		t.Errorf("Stale = %v, %v; want the sandbox_image key", st, err)
	}
}

func TestMergeSemanticsOfImports(t *testing.T) {
	imp := "/etc/containerd/extra.toml"
	files := map[string]string{
		DefaultConfig: "version = 2\nimports = [\"extra.toml\"]\n[plugins.\"io.containerd.grpc.v1.cri\"]\nsandbox_image = \"a\"\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\nruntime_type = \"io.containerd.runc.v2\"\n",
		imp:           "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".cni]\nbin_dir = \"/x\"\n",
	}
	h := host(t, "", files)
	// 1.x: the import's section replaces the main file's whole section.
	c1 := load(t, h, 1, true)
	if got := table(c1.Plugins, criV2); !reflect.DeepEqual(got, map[string]any{"cni": map[string]any{"bin_dir": "/x"}}) {
		t.Errorf("1.x merged CRI section %v, want only the import's", got)
	}
	// 2.x: key by key.
	c2 := load(t, h, 2, true)
	if got := table(c2.Plugins, criV2); got["sandbox_image"] != "a" || table(got, "cni")["bin_dir"] != "/x" {
		t.Errorf("2.x merged CRI section %v, want both files' keys", got)
	}
	if got := []string{c2.Files[0].Path, c2.Files[1].Path}; !slices.Equal(got, []string{DefaultConfig, imp}) {
		t.Errorf("load order %v", got)
	}
}

func TestCheckFindsLaterOverride(t *testing.T) {
	later := "/etc/containerd/conf.d/zz-vendor.toml"
	h := host(t, "containerd-2.2.9-default.toml", map[string]string{
		later: "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\nBinaryName = '/usr/bin/vendor-runc'\n",
	})
	c := load(t, h, 2, true)
	w := Wiring{Handlers: map[string]Set{"runc": {BinaryName: "/usr/local/bin/execguard-runc"}}}
	data, err := c.RenderDropIn(w)
	if err != nil {
		t.Fatal(err)
	}
	main, _, _ := c.RenderMain()
	err = Check(Source{Host: h, Path: DefaultConfig, DropIn: dropIn, Major: 2}, main, data, w)
	if err == nil || !strings.Contains(err.Error(), later) || !strings.Contains(err.Error(), "/usr/bin/vendor-runc") {
		t.Fatalf("Check = %v, want an error naming %s", err, later)
	}
}

func TestRenderMain(t *testing.T) {
	// 1.7 default: imports = [] gets the drop-in; nothing else changes.
	c := load(t, host(t, "containerd-1.7.35-default.toml", nil), 1, true)
	data, inserted, err := c.RenderMain()
	if err != nil {
		t.Fatal(err)
	}
	orig := string(c.Main().Data)
	if want := strings.Replace(orig, "imports = []", `imports = ["`+dropIn+`"]`, 1); string(data) != want {
		t.Errorf("main after edit differs beyond the imports line:\n%s", fsplan.Unified(orig, string(data), 1))
	}
	if back, ok := tomledit.RemoveInserted(data, inserted); !ok || string(back) != orig {
		t.Error("the edit cannot be taken out again")
	}
	// 2.2.9 default: its glob already reaches the drop-in.
	c = load(t, host(t, "containerd-2.2.9-default.toml", nil), 2, true)
	data, inserted, err = c.RenderMain()
	if err != nil || inserted != "" || string(data) != string(c.Main().Data) {
		t.Errorf("2.x default main changed (inserted %q, err %v)", inserted, err)
	}
	// No file: a new one that only imports the drop-in.
	c = load(t, host(t, "", nil), 2, true)
	data, _, err = c.RenderMain()
	if err != nil {
		t.Fatal(err)
	}
	tree, err := tomledit.Parse("new", data)
	if err != nil || tree["version"] != int64(3) || !reflect.DeepEqual(tree["imports"], []any{dropIn}) {
		t.Errorf("new main %s (%v)", data, err)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		data  string // testdata file for the main config
		major int
		want  []string
	}{
		{name: "unparseable", data: "bad-syntax.toml", major: 2, want: []string{DefaultConfig, "line 2"}},
		{name: "version 1", data: "version-1.toml", major: 1, want: []string{DefaultConfig, "version 1", "containerd config migrate"}},
		{name: "unknown version", data: "version-4.toml", major: 2, want: []string{DefaultConfig, "unknown config version 4"}},
		{name: "version 3 on 1.x", data: "containerd-2.2.9-default.toml", major: 1, want: []string{DefaultConfig, "version 3 needs containerd 2.x"}},
		{name: "missing import", files: map[string]string{DefaultConfig: "version = 3\nimports = ['/etc/containerd/nope.toml']\n"}, major: 2,
			want: []string{"/etc/containerd/nope.toml", "does not exist"}},
		{name: "unparseable import", files: map[string]string{DefaultConfig: "version = 3\nimports = ['/etc/containerd/b.toml']\n", "/etc/containerd/b.toml": "x = [\n"}, major: 2,
			want: []string{"/etc/containerd/b.toml", "line"}},
		{name: "import of another version touching CRI", files: map[string]string{DefaultConfig: "version = 3\nimports = ['/etc/containerd/b.toml']\n",
			"/etc/containerd/b.toml": "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\nx = 1\n"}, major: 2,
			want: []string{"/etc/containerd/b.toml", "version 2 file sets plugin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := host(t, tc.data, tc.files)
			_, err := Load(Source{Host: h, Path: DefaultConfig, DropIn: dropIn, Major: tc.major})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestTasksAndUsers(t *testing.T) {
	const task = "/run/containerd/io.containerd.runtime.v2.task/"
	h := host(t, "", map[string]string{
		task + "k8s.io/aaa/options.json":      `{"binary_name":"/usr/local/bin/execguard-runc","root":"/run/containerd/runc"}`,
		task + "k8s.io/aaa/shim-binary-path":  "/usr/local/bin/containerd-shim-runc-v2",
		task + "k8s.io/bbb/options.json":      `{"root":"/run/containerd/runc"}`,
		task + "k8s.io/bbb/shim-binary-path":  "/usr/local/bin/containerd-shim-execguard-v2",
		task + "k8s.io/bbb/config.json":       `{"ociVersion":"1.2.0","annotations":{"io.kubernetes.cri.container-type":"sandbox"}}`,
		task + "k8s.io/fff/config.json":       `{"ociVersion":"1.2.0","annotations":{"io.kubernetes.cri.container-type":"container"}}`,
		task + "default/ccc/options.json":     `{"binary_name":"/usr/local/bin/execguard-runc"}`,
		task + "default/ddd/shim-binary-path": "/usr/bin/containerd-shim-runc-v2",
		task + "default/eee/other":            "not a bundle",
		// A container that joined its pod's shim.
		task + "k8s.io/fff/sandbox":      "bbb",
		task + "k8s.io/fff/options.json": `{"root":"/run/containerd/runc"}`,
	})
	tasks, err := Tasks(h, "/run/containerd")
	if err != nil {
		t.Fatal(err)
	}
	want := []Task{
		{ID: "default/ccc", BinaryName: "/usr/local/bin/execguard-runc"},
		{ID: "default/ddd", Shim: "/usr/bin/containerd-shim-runc-v2"},
		{ID: "k8s.io/aaa", Shim: "/usr/local/bin/containerd-shim-runc-v2", BinaryName: "/usr/local/bin/execguard-runc"},
		{ID: "k8s.io/bbb", Shim: "/usr/local/bin/containerd-shim-execguard-v2", Sandbox: true},
		{ID: "k8s.io/fff", Shim: "/usr/local/bin/containerd-shim-execguard-v2"},
	}
	if !slices.Equal(tasks, want) {
		t.Errorf("Tasks = %+v\nwant %+v", tasks, want)
	}
	for _, tc := range []struct {
		shims, binaries, want []string
	}{
		{nil, []string{"/usr/local/bin/execguard-runc"}, []string{"default/ccc", "k8s.io/aaa"}},
		{[]string{"/usr/local/bin/containerd-shim-execguard-v2"}, nil, []string{"k8s.io/bbb", "k8s.io/fff"}},
		{[]string{"/usr/local/bin/containerd-shim-execguard-v2"}, []string{"/usr/local/bin/execguard-runc"}, []string{"default/ccc", "k8s.io/aaa", "k8s.io/bbb", "k8s.io/fff"}},
		{[]string{"/nowhere"}, []string{""}, nil},
	} {
		got, err := Users(h, "/run/containerd", tc.shims, tc.binaries)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Users(%v, %v) = %v, %v; want %v", tc.shims, tc.binaries, got, err, tc.want)
		}
	}
}

// TestDropInShim sets execguard's shim on the runc handlers of real
// configuration files of both versions: the merged result has the shim's
// type and path and keeps every other option; BinaryName is set only where
// asked (back to the real runc after the wrapper).
func TestDropInShim(t *testing.T) {
	const shim = "/usr/local/bin/containerd-shim-execguard-v2"
	for _, tc := range []struct {
		file     string
		major    int
		set      map[string]Set
		keepOpts map[string]any // options of runc that must survive
	}{
		{"containerd-2.2.9-default.toml", 2, map[string]Set{"runc": {RuntimeType: ShimType, RuntimePath: shim}}, map[string]any{"SystemdCgroup": false}},
		{"containerd-1.7.35-default.toml", 1, map[string]Set{"runc": {RuntimeType: ShimType, RuntimePath: shim}}, map[string]any{"SystemdCgroup": false, "BinaryName": ""}},
		{"custom-2.x.toml", 2, map[string]Set{"runc": {RuntimeType: ShimType, RuntimePath: shim, BinaryName: "/usr/sbin/runc"}, "crun": {RuntimeType: ShimType, RuntimePath: shim}},
			map[string]any{"SystemdCgroup": true, "Root": "/run/containerd/runc", "BinaryName": "/usr/sbin/runc"}},
		{"custom-1.7.toml", 1, map[string]Set{"runc": {RuntimeType: RuncV2, RuntimePath: shim}}, map[string]any{"SystemdCgroup": true}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			h := host(t, tc.file, nil)
			c := load(t, h, tc.major, true)
			w := Wiring{Handlers: tc.set}
			data, err := c.RenderDropIn(w)
			if err != nil {
				t.Fatal(err)
			}
			main, _, err := c.RenderMain()
			if err != nil {
				t.Fatal(err)
			}
			src := Source{Host: h, Path: DefaultConfig, DropIn: dropIn, Major: tc.major}
			if err := Check(src, main, data, w); err != nil {
				t.Fatal(err)
			}
			src.Overlay = map[string][]byte{DefaultConfig: main, dropIn: data}
			merged, err := Load(src)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]Handler{}
			for _, h := range merged.Handlers() {
				got[h.Name] = h
			}
			for name, set := range tc.set {
				hd := got[name]
				if hd.Type != set.RuntimeType || hd.RuntimePath != shim || hd.Shim() != shim || !hd.RuncType() {
					t.Errorf("%s: %+v, want type %s and path %s", name, hd, set.RuntimeType, shim)
				}
			}
			opts := table(merged.Plugins, merged.criID(), "containerd", "runtimes", "runc", "options")
			for k, v := range tc.keepOpts {
				if opts[k] != v {
					t.Errorf("runc option %s = %v, want %v (options %v)", k, opts[k], v, opts)
				}
			}
			if tc.major >= 2 {
				// Only the keys set, nothing copied.
				tree, _ := tomledit.Parse("drop-in", data)
				runc := table(tree, "plugins", criV3, "containerd", "runtimes", "runc")
				if len(runc) != len(nonEmpty(tc.set["runc"])) {
					t.Errorf("2.x drop-in sets %v on runc, want only %+v", runc, tc.set["runc"])
				}
			}
			if st, err := c.Stale(data); err != nil || len(st) != 0 {
				t.Errorf("fresh drop-in stale: %v, %v", st, err)
			}
		})
	}
}

// nonEmpty lists the keys a Set writes at the handler's top level (options
// counts once).
func nonEmpty(s Set) []string {
	var out []string
	if s.RuntimeType != "" {
		out = append(out, "runtime_type")
	}
	if s.RuntimePath != "" {
		out = append(out, "runtime_path")
	}
	if s.BinaryName != "" {
		out = append(out, "options")
	}
	return out
}

func TestCheckFindsShimOverride(t *testing.T) {
	later := "/etc/containerd/conf.d/zz-vendor.toml"
	h := host(t, "containerd-2.2.9-default.toml", map[string]string{
		later: "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]\nruntime_type = 'io.containerd.runc.v2'\n",
	})
	c := load(t, h, 2, true)
	w := Wiring{Handlers: map[string]Set{"runc": {RuntimeType: ShimType, RuntimePath: "/usr/local/bin/containerd-shim-execguard-v2"}}}
	data, err := c.RenderDropIn(w)
	if err != nil {
		t.Fatal(err)
	}
	main, _, _ := c.RenderMain()
	err = Check(Source{Host: h, Path: DefaultConfig, DropIn: dropIn, Major: 2}, main, data, w)
	if err == nil || !strings.Contains(err.Error(), later) || !strings.Contains(err.Error(), "runtime_type") {
		t.Fatalf("Check = %v, want an error naming %s and runtime_type", err, later)
	}
	if _, err := c.RenderDropIn(Wiring{Handlers: map[string]Set{"runc": {}}}); err == nil {
		t.Error("an empty Set rendered")
	}
}

// TestDetectBinary builds small programs whose main module is containerd's
// and reads their build information, as it would a real containerd.
func TestDetectBinary(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Fatal("go toolchain not found")
		}
	}
	root := t.TempDir()
	h := fsplan.Host{Root: root}
	build := func(module, ldflags, out string) {
		t.Helper()
		src := t.TempDir()
		os.WriteFile(filepath.Join(src, "go.mod"), []byte("module "+module+"\n\ngo 1.21\n"), 0o644)
		os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
		if err := os.MkdirAll(filepath.Dir(h.Local(out)), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(goBin, "build", "-ldflags", ldflags, "-o", h.Local(out), ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", module, err, b)
		}
	}
	build("github.com/containerd/containerd/v2", "-X github.com/containerd/containerd/v2/version.Version=v2.9.9", "/usr/bin/containerd")
	build("github.com/containerd/containerd", "", "/opt/old/containerd")
	build("example.com/notcontainerd", "", "/usr/local/bin/other")

	b, err := DetectBinary(h, "")
	if err != nil || b.Major != 2 || b.Version != "v2.9.9" || b.Path != "/usr/bin/containerd" {
		t.Errorf("PATH lookup: %+v, %v", b, err)
	}
	if b, err := DetectBinary(h, "/opt/old/containerd"); err != nil || b.Major != 1 {
		t.Errorf("1.x: %+v, %v", b, err)
	}
	if _, err := DetectBinary(h, "/usr/local/bin/other"); err == nil || !strings.Contains(err.Error(), "not containerd") {
		t.Errorf("other program: %v", err)
	}
	os.WriteFile(h.Local("/usr/local/bin/script"), []byte("#!/bin/sh\n"), 0o755)
	if _, err := DetectBinary(h, "/usr/local/bin/script"); err == nil || !strings.Contains(err.Error(), "/usr/local/bin/script") {
		t.Errorf("not a Go binary: %v", err)
	}
}
