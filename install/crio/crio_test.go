package crio

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/execguard/execguard/install/fsplan"
	"github.com/execguard/execguard/install/tomledit"
)

// host copies testdata's crio.conf and crio.conf.d under a temp root and
// adds extra files.
func host(t *testing.T, withTestdata bool, extra map[string]string) (fsplan.Host, Source) {
	t.Helper()
	h := fsplan.Host{Root: t.TempDir()}
	files := map[string]string{}
	if withTestdata {
		for _, f := range []string{"crio.conf", "crio.conf.d/10-crun.conf"} {
			data, err := os.ReadFile(filepath.Join("testdata", f))
			if err != nil {
				t.Fatal(err)
			}
			files[filepath.Join("/etc/crio", f)] = string(data)
		}
	}
	for p, c := range extra {
		files[p] = c
	}
	for p, c := range files {
		os.MkdirAll(filepath.Dir(h.Local(p)), 0o755)
		if err := os.WriteFile(h.Local(p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return h, Source{Host: h, Path: DefaultConfig, DropInDir: DefaultDropInDir, SkipDropIn: true}
}

func handlerNames(hs []Handler) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

func TestLoadTestdata(t *testing.T) {
	_, src := host(t, true, nil)
	c, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	if got := handlerNames(c.Handlers()); !slices.Equal(got, []string{"crun", "kata", "runc"}) {
		t.Errorf("handlers %v", got)
	}
	if c.DefaultRuntimeName != "runc" || c.CgroupManager != "systemd" {
		t.Errorf("default runtime %q, cgroup manager %q", c.DefaultRuntimeName, c.CgroupManager)
	}
	if c.Origin["crun"] != "/etc/crio/crio.conf.d/10-crun.conf" || c.Origin["runc"] != DefaultConfig {
		t.Errorf("origins %v", c.Origin)
	}
	n := c.NRI()
	if n.Enabled || n.PluginPath != "/opt/nri/plugins" || n.PluginConfigPath != "/etc/nri/conf.d" {
		t.Errorf("NRI %+v: want disabled (crio.conf says so) with default paths", n)
	}
}

func TestDropInKeepsHandlerSettings(t *testing.T) {
	h, src := host(t, true, nil)
	c, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	w := Wiring{Paths: map[string]string{
		"runc": "/usr/local/libexec/execguard/runc",
		"crun": "/usr/local/libexec/execguard/crun",
	}}
	data, err := c.RenderDropIn(w)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := tomledit.Parse("drop-in", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if tree["crio"].(map[string]any)["nri"].(map[string]any)["enable_nri"] != true {
		t.Errorf("NRI not enabled:\n%s", data)
	}
	if err := Check(src, data, w); err != nil {
		t.Fatal(err)
	}
	// What CRI-O would use: each handler's own settings, runtime_path
	// replaced; kata untouched.
	src.SkipDropIn = false
	src.Overlay = map[string][]byte{src.DropIn(): data}
	merged, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range w.Paths {
		want := deepCopy(c.Runtimes[name])
		want["runtime_path"] = path
		if got := merged.Runtimes[name]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s after the drop-in:\n%v\nwant\n%v", name, got, want)
		}
	}
	if !reflect.DeepEqual(merged.Runtimes["kata"], c.Runtimes["kata"]) {
		t.Error("kata changed")
	}
	if !merged.NRI().Enabled {
		t.Error("NRI still off")
	}
	if !strings.Contains(string(data), "# runc: settings from /etc/crio/crio.conf") {
		t.Errorf("drop-in does not say where runc's settings come from:\n%s", data)
	}
	if st, err := c.Stale(data); err != nil || len(st) != 0 {
		t.Errorf("fresh drop-in stale: %v %v", st, err)
	}
	// The user edits crun's drop-in afterwards: the copy is stale.
	os.WriteFile(h.Local("/etc/crio/crio.conf.d/10-crun.conf"), []byte("[crio.runtime.runtimes.crun]\nruntime_root = \"/run/crun2\"\n"), 0o644)
	c2, err := Load(Source{Host: h, Path: DefaultConfig, DropInDir: DefaultDropInDir, SkipDropIn: true})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c2.Stale(data); err != nil || !slices.Equal(st, []string{"crun"}) {
		t.Errorf("Stale = %v, %v; want crun", st, err)
	}
}

func TestBuiltInCrun(t *testing.T) {
	_, src := host(t, false, map[string]string{"/etc/crio/crio.conf.d/00-base.conf": "[crio.runtime]\ncgroup_manager = \"cgroupfs\"\n"})
	c, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	hs := c.Handlers()
	if len(hs) != 1 || hs[0].Name != "crun" || !hs[0].BuiltIn {
		t.Fatalf("handlers %+v, want CRI-O's built-in crun", hs)
	}
	data, err := c.RenderDropIn(Wiring{Paths: map[string]string{"crun": "/w/crun"}})
	if err != nil {
		t.Fatal(err)
	}
	tree, _ := tomledit.Parse("d", data)
	crun := tree["crio"].(map[string]any)["runtime"].(map[string]any)["runtimes"].(map[string]any)["crun"].(map[string]any)
	want := map[string]any{
		"runtime_path": "/w/crun", "runtime_type": "oci", "runtime_root": "/run/crun", "container_min_memory": "12MiB",
		"monitor_env":         []any{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		"allowed_annotations": []any{"io.containers.trace-syscall", "io.kubernetes.cri-o.Devices"},
	}
	if !reflect.DeepEqual(crun, want) {
		t.Errorf("built-in crun written as\n%v\nwant CRI-O's defaults (no monitor_cgroup with cgroupfs)\n%v", crun, want)
	}
}

func TestCheckFindsLaterDropIn(t *testing.T) {
	later := "/etc/crio/crio.conf.d/99-zz-vendor.conf"
	_, src := host(t, true, map[string]string{later: "[crio.runtime.runtimes.runc]\nruntime_path = \"/opt/vendor/runc\"\n"})
	c, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	w := Wiring{Paths: map[string]string{"runc": "/usr/local/libexec/execguard/runc"}}
	data, err := c.RenderDropIn(w)
	if err != nil {
		t.Fatal(err)
	}
	err = Check(src, data, w)
	if err == nil || !strings.Contains(err.Error(), later) {
		t.Fatalf("Check = %v, want an error naming %s", err, later)
	}
}

func TestBadCRIOConfig(t *testing.T) {
	for _, tc := range []struct {
		name, path, content string
		want                []string
	}{
		{"unparseable main", DefaultConfig, "[crio.runtime\n", []string{DefaultConfig, "line 1"}},
		{"unparseable drop-in", "/etc/crio/crio.conf.d/50-x.conf", "enable_nri = = true\n", []string{"/etc/crio/crio.conf.d/50-x.conf", "line 1"}},
		{"runtimes not a table", DefaultConfig, "[crio.runtime]\nruntimes = 5\n", []string{DefaultConfig, "crio.runtime.runtimes is not a table"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, src := host(t, false, map[string]string{tc.path: tc.content})
			_, err := Load(src)
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
