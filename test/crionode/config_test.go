package crionode

import (
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

func TestCRIOConfig(t *testing.T) {
	l := layout{Dir: "/tmp/egcrio-1"}
	good := configParams{
		RuntimePaths:   map[string]string{"runc": "/x/libexec/runc", "crun": "/x/libexec/crun"},
		DefaultRuntime: "runc",
		Conmon:         "/usr/bin/conmon",
		Pinns:          "/opt/crio/bin/pinns",
		StorageDriver:  "overlay",
		PauseImage:     PauseImage,
		LogLevel:       "info",
	}
	with := func(f func(p *configParams)) configParams {
		p := good
		p.RuntimePaths = map[string]string{}
		for k, v := range good.RuntimePaths {
			p.RuntimePaths[k] = v
		}
		f(&p)
		return p
	}
	tests := []struct {
		name    string
		params  configParams
		wantErr string
	}{
		{"runc and crun handlers", good, ""},
		{"default runtime without a path", with(func(p *configParams) { p.DefaultRuntime = "kata" }), `default runtime "kata"`},
		{"quote in a runtime path", with(func(p *configParams) { p.RuntimePaths["runc"] = "/x/it's/runc" }), "TOML literal"},
		{"handler name that needs quoting", with(func(p *configParams) { p.RuntimePaths["my.rt"] = "/x/rt" }), "bare TOML key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, err := crioConfig(l, tt.params)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var cfg struct {
				Crio struct {
					Root    string `toml:"root"`
					RunRoot string `toml:"runroot"`
					API     struct {
						Listen string `toml:"listen"`
					} `toml:"api"`
					Runtime struct {
						DefaultRuntime string   `toml:"default_runtime"`
						CgroupManager  string   `toml:"cgroup_manager"`
						HooksDir       []string `toml:"hooks_dir"`
						PinnsPath      string   `toml:"pinns_path"`
						Runtimes       map[string]struct {
							RuntimePath string `toml:"runtime_path"`
							RuntimeRoot string `toml:"runtime_root"`
							MonitorPath string `toml:"monitor_path"`
						} `toml:"runtimes"`
					} `toml:"runtime"`
					NRI struct {
						Enable bool   `toml:"enable_nri"`
						Listen string `toml:"nri_listen"`
					} `toml:"nri"`
				} `toml:"crio"`
			}
			if err := toml.Unmarshal([]byte(text), &cfg); err != nil {
				t.Fatalf("rendered config is not TOML: %v\n%s", err, text)
			}
			c := cfg.Crio
			if c.Root != l.root() || c.RunRoot != l.runRoot() || c.API.Listen != l.socket() || c.Runtime.PinnsPath != "/opt/crio/bin/pinns" {
				t.Errorf("paths: root %q runroot %q listen %q pinns %q", c.Root, c.RunRoot, c.API.Listen, c.Runtime.PinnsPath)
			}
			if c.Runtime.DefaultRuntime != "runc" || c.Runtime.CgroupManager != "cgroupfs" || c.Runtime.HooksDir == nil || len(c.Runtime.HooksDir) != 0 {
				t.Errorf("runtime: %+v", c.Runtime)
			}
			if !c.NRI.Enable || c.NRI.Listen != l.nriSocket() {
				t.Errorf("nri: %+v", c.NRI)
			}
			if len(c.Runtime.Runtimes) != len(tt.params.RuntimePaths) {
				t.Errorf("handlers %v, want %v", c.Runtime.Runtimes, tt.params.RuntimePaths)
			}
			for name, path := range tt.params.RuntimePaths {
				h := c.Runtime.Runtimes[name]
				if h.RuntimePath != path || h.RuntimeRoot != l.runtimeRoot(name) || h.MonitorPath != "/usr/bin/conmon" {
					t.Errorf("handler %s: %+v", name, h)
				}
			}
			for _, line := range strings.Split(text, "\n") {
				if _, v, ok := strings.Cut(line, " = '/"); ok && !strings.HasPrefix("/"+v, l.Dir) &&
					!strings.Contains(line, "/x/libexec/") && !strings.Contains(line, "conmon") && !strings.Contains(line, "pinns") {
					t.Errorf("a path outside the node directory: %s", line)
				}
			}
		})
	}
}

func TestCrioVersion(t *testing.T) {
	tests := []struct{ out, want string }{
		{"crio version 1.36.3\n   GitCommit:      unknown\n", "1.36.3"},
		{"crio version 1.37.0-dev\n", "1.37.0-dev"},
		{"no version here\n", ""},
	}
	for _, tt := range tests {
		if got := crioVersion(tt.out); got != tt.want {
			t.Errorf("crioVersion(%q) = %q, want %q", tt.out, got, tt.want)
		}
	}
}
