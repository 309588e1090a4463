package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// tomlGet walks a path of keys through decoded TOML tables.
func tomlGet(cfg map[string]any, path ...string) any {
	var cur any = cfg
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func TestContainerdConfigV2(t *testing.T) {
	const (
		cri  = "io.containerd.grpc.v1.cri"
		runc = "runc"
	)
	l := layout{Dir: "/tmp/egnode-x"}
	tests := []struct {
		name   string
		params configParams
		want   []struct {
			path []string
			want any
		}
	}{
		{
			name: "defaults",
			params: configParams{
				RuntimeBinary: "/opt/eg/execguard-runc",
				Snapshotter:   "overlayfs",
				SandboxImage:  PauseImage,
			},
			want: []struct {
				path []string
				want any
			}{
				{[]string{"version"}, int64(2)},
				{[]string{"root"}, "/tmp/egnode-x/root"},
				{[]string{"state"}, "/tmp/egnode-x/state"},
				{[]string{"temp"}, "/tmp/egnode-x/tmp"},
				{[]string{"grpc", "address"}, "/tmp/egnode-x/containerd.sock"},
				{[]string{"ttrpc", "address"}, "/tmp/egnode-x/containerd.sock.ttrpc"},
				{[]string{"plugins", "io.containerd.nri.v1.nri", "disable"}, false},
				{[]string{"plugins", "io.containerd.nri.v1.nri", "socket_path"}, "/tmp/egnode-x/nri/nri.sock"},
				{[]string{"plugins", "io.containerd.nri.v1.nri", "plugin_path"}, "/tmp/egnode-x/nri/plugins"},
				{[]string{"plugins", "io.containerd.nri.v1.nri", "plugin_config_path"}, "/tmp/egnode-x/nri/conf.d"},
				{[]string{"plugins", cri, "sandbox_image"}, PauseImage},
				{[]string{"plugins", cri, "restrict_oom_score_adj"}, true},
				{[]string{"plugins", cri, "containerd", "snapshotter"}, "overlayfs"},
				{[]string{"plugins", cri, "containerd", "default_runtime_name"}, runc},
				{[]string{"plugins", cri, "containerd", "runtimes", runc, "runtime_type"}, "io.containerd.runc.v2"},
				{[]string{"plugins", cri, "containerd", "runtimes", runc, "options", "BinaryName"}, "/opt/eg/execguard-runc"},
				{[]string{"plugins", cri, "containerd", "runtimes", runc, "options", "Root"}, "/tmp/egnode-x/state/runc"},
				{[]string{"plugins", cri, "cni", "bin_dir"}, "/tmp/egnode-x/cni/bin"},
				{[]string{"plugins", cri, "cni", "conf_dir"}, "/tmp/egnode-x/cni/net.d"},
				{[]string{"plugins", "io.containerd.internal.v1.opt", "path"}, "/tmp/egnode-x/opt"},
			},
		},
		{
			name: "runtime type and options",
			params: configParams{
				RuntimeBinary: "/opt/eg/execguard-runc",
				Snapshotter:   "native",
				SandboxImage:  PauseImage,
				RuntimeType:   "io.containerd.execguard.v2",
				RuncOptions:   map[string]any{"SystemdCgroup": false, "ConfigPath": "/etc/eg.toml", "IoUid": 0},
			},
			want: []struct {
				path []string
				want any
			}{
				{[]string{"plugins", cri, "containerd", "snapshotter"}, "native"},
				{[]string{"plugins", cri, "containerd", "runtimes", runc, "runtime_type"}, "io.containerd.execguard.v2"},
				{[]string{"plugins", cri, "containerd", "runtimes", runc, "options", "BinaryName"}, "/opt/eg/execguard-runc"},
				{[]string{"plugins", cri, "containerd", "runtimes", runc, "options", "SystemdCgroup"}, false},
				{[]string{"plugins", cri, "containerd", "runtimes", runc, "options", "ConfigPath"}, "/etc/eg.toml"},
				{[]string{"plugins", cri, "containerd", "runtimes", runc, "options", "IoUid"}, int64(0)},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, err := containerdConfigV2(l, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			var cfg map[string]any
			if err := toml.Unmarshal([]byte(text), &cfg); err != nil {
				t.Fatalf("config is not TOML: %v\n%s", err, text)
			}
			for _, w := range tc.want {
				if got := tomlGet(cfg, w.path...); got != w.want {
					t.Errorf("%s = %#v, want %#v", strings.Join(w.path, "."), got, w.want)
				}
			}
			unpack, _ := tomlGet(cfg, "plugins", "io.containerd.transfer.v1.local", "unpack_config").([]any)
			if len(unpack) != 1 || unpack[0].(map[string]any)["snapshotter"] != tc.params.Snapshotter {
				t.Errorf("transfer unpack_config = %#v, want one entry for %s", unpack, tc.params.Snapshotter)
			}
			if imports, ok := tomlGet(cfg, "imports").([]any); !ok || len(imports) != 0 {
				t.Errorf("imports = %#v, want an empty list", tomlGet(cfg, "imports"))
			}
			// Version 3 tables would be ignored by 1.7, silently.
			for _, v3 := range []string{"io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images"} {
				if tomlGet(cfg, "plugins", v3) != nil {
					t.Errorf("version 2 config has the version 3 table %s", v3)
				}
			}
		})
	}
}

func TestContainerdConfigV2Refuses(t *testing.T) {
	ok := configParams{RuntimeBinary: "/opt/eg/execguard-runc", Snapshotter: "native", SandboxImage: PauseImage}
	tests := []struct {
		name   string
		dir    string
		params func(configParams) configParams
	}{
		{"quote in dir", "/tmp/it's", func(p configParams) configParams { return p }},
		{"quote in runtime type", "/tmp/x", func(p configParams) configParams { p.RuntimeType = "a'b"; return p }},
		{"node's own option", "/tmp/x", func(p configParams) configParams {
			p.RuncOptions = map[string]any{"BinaryName": "/usr/sbin/runc"}
			return p
		}},
		{"key that needs quoting", "/tmp/x", func(p configParams) configParams {
			p.RuncOptions = map[string]any{"a.b": true}
			return p
		}},
		{"newline in a value", "/tmp/x", func(p configParams) configParams {
			p.RuncOptions = map[string]any{"ConfigPath": "a\nb"}
			return p
		}},
		{"unsupported value", "/tmp/x", func(p configParams) configParams {
			p.RuncOptions = map[string]any{"Args": []string{"x"}}
			return p
		}},
	}
	for _, tc := range tests {
		if _, err := containerdConfigV2(layout{Dir: tc.dir}, tc.params(ok)); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestParseContainerdVersion(t *testing.T) {
	tests := []struct {
		out          string
		version      string
		major, minor int
		wantErr      bool
	}{
		{"containerd github.com/containerd/containerd 1.7.35+unknown \n", "1.7.35", 1, 7, false},
		{"containerd github.com/containerd/containerd/v2 2.2.9+unknown \n", "2.2.9", 2, 2, false},
		{"containerd github.com/containerd/containerd v1.6.24 61f9fd88\n", "1.6.24", 1, 6, false},
		{"ctr github.com/containerd/containerd 1.7.35\n", "", 0, 0, true},
		{"containerd github.com/containerd/containerd\n", "", 0, 0, true},
		{"containerd x devel\n", "", 0, 0, true},
	}
	for _, tc := range tests {
		version, major, minor, err := parseContainerdVersion(tc.out)
		if (err != nil) != tc.wantErr || version != tc.version || major != tc.major || minor != tc.minor {
			t.Errorf("parseContainerdVersion(%q) = %q %d %d %v, want %q %d %d error %v",
				tc.out, version, major, minor, err, tc.version, tc.major, tc.minor, tc.wantErr)
		}
	}
}

func TestConfigRenderer(t *testing.T) {
	l := layout{Dir: "/tmp/egnode-x"}
	p := configParams{RuntimeBinary: "/usr/sbin/runc", Snapshotter: "native", SandboxImage: PauseImage}
	tests := []struct {
		version      string
		major, minor int
		wantVersion  string // the config's version line; empty: refused
	}{
		{"2.2.9", 2, 2, "version = 3"},
		{"2.0.0", 2, 0, "version = 3"},
		{"1.7.35", 1, 7, "version = 2"},
		{"1.6.24", 1, 6, ""},
		{"3.0.0", 3, 0, ""},
	}
	for _, tc := range tests {
		render, err := configRenderer(tc.version, tc.major, tc.minor)
		if tc.wantVersion == "" {
			if err == nil {
				t.Errorf("containerd %s: accepted", tc.version)
			}
			continue
		}
		if err != nil {
			t.Errorf("containerd %s: %v", tc.version, err)
			continue
		}
		text, err := render(l, p)
		if err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(text, "\n"); first != tc.wantVersion {
			t.Errorf("containerd %s: config starts %q, want %q", tc.version, first, tc.wantVersion)
		}
	}
}

func TestContainerdDir(t *testing.T) {
	full := t.TempDir()
	for _, name := range containerdBinaries() {
		if err := os.WriteFile(filepath.Join(full, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	partial := t.TempDir()
	if err := os.WriteFile(filepath.Join(partial, "containerd"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, sel, env, want string
		wantErr              bool
	}{
		{"default install", "", "", "", false},
		{"1.7 from the environment", Containerd17, full, full, false},
		{"directory", full, "", full, false},
		{"directory without ctr and shim", partial, "", "", true},
		{"relative directory", "bin", "", "", true},
		{"unknown version", "1.6", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(Containerd17DirEnv, tc.env)
			got, err := ContainerdDir(tc.sel)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ContainerdDir(%q) = %q, %v; want %q, error %v", tc.sel, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
