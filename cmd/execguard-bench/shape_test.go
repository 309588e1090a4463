package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/runtime"
)

// capturedCalls are the real engine command lines the benchmark reproduces.
const capturedCalls = "../../runtime/testdata/runtime-calls"

func readArgv(t *testing.T, fixture string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(capturedCalls, fixture, "argv.json"))
	if err != nil {
		t.Fatal(err)
	}
	var argv []string
	if err := json.Unmarshal(data, &argv); err != nil {
		t.Fatalf("%s: %v", fixture, err)
	}
	return argv
}

func mustParse(t *testing.T, argv []string) runtime.Call {
	t.Helper()
	c, err := runtime.Parse(argv)
	if err != nil {
		t.Fatalf("parse %q: %v", argv, err)
	}
	return c
}

// The benchmark's exec command line, built from a captured call's paths,
// must be that call exactly: same flags, same forms, same order.
func TestExecArgvIsTheCapturedCall(t *testing.T) {
	tests := []struct {
		fixture string
		shape   shape
		runtime string
	}{
		{"containerd-v2-exec-tty", shapeContainerd, "runc"},
		{"podman-runc-exec-tty", shapePodman, "runc"},
		{"podman-crun-exec-tty", shapePodman, "crun"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			captured := readArgv(t, tt.fixture)
			c := mustParse(t, captured)
			l := layout{root: c.Global.Get("root"), console: c.Flags.Get("console-socket")}
			var f execFiles
			switch tt.shape {
			case shapePodman:
				// Rebuild Podman's per-exec paths from the exec's directory
				// and the process file's number alone.
				pid := c.Flags.Get("pid-file")
				n, err := strconv.ParseUint(strings.TrimPrefix(filepath.Base(c.Flags.Get("process")), "exec-process-"), 10, 64)
				if err != nil {
					t.Fatalf("process file name: %v", err)
				}
				f = podmanExecFiles(filepath.Dir(filepath.Dir(pid)), filepath.Base(filepath.Dir(pid)), n, tt.runtime)
			default:
				f = execFiles{pidFile: c.Flags.Get("pid-file"), process: c.Flags.Get("process"), log: c.Global.Get("log")}
			}
			got := execArgv(tt.shape, tt.runtime, l, f, c.ContainerID)
			if want := captured[1:]; !reflect.DeepEqual(got, want) {
				t.Errorf("execArgv =\n  %q\nwant (captured)\n  %q", got, want)
			}
		})
	}
}

// Podman's per-exec files sit in <userdata>/<exec-id>/, where the wrapper
// finds the bundle (the directory above the pid file); only crun gets a log.
func TestPodmanExecFiles(t *testing.T) {
	tests := []struct {
		runtime string
		wantLog string
	}{
		{"runc", ""},
		{"crun", "/s/overlay-containers/c1/userdata/e1/oci-log"},
	}
	for _, tt := range tests {
		t.Run(tt.runtime, func(t *testing.T) {
			f := podmanExecFiles("/s/overlay-containers/c1/userdata", "e1", 42, tt.runtime)
			want := execFiles{
				dir:     "/s/overlay-containers/c1/userdata/e1",
				pidFile: "/s/overlay-containers/c1/userdata/e1/exec_pid",
				process: "/s/overlay-containers/c1/userdata/e1/exec-process-42",
				log:     tt.wantLog,
			}
			if f != want {
				t.Errorf("podmanExecFiles = %+v, want %+v", f, want)
			}
		})
	}
}

// The wrapper must read the bundle the benchmark made from the command line
// the benchmark builds, as it does for the engine's own calls.
func TestExecArgvLocatesBundle(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, sh := range shapes {
		for _, rt := range runtimes {
			t.Run(string(sh)+"/"+rt, func(t *testing.T) {
				l := newLayout(sh, rt, "/tmp/bench", id)
				f := containerdExecFiles(l, 7)
				if sh == shapePodman {
					f = podmanExecFiles(l.bundle, "e1", 7, rt)
				}
				argv := append([]string{l.wrapper}, execArgv(sh, rt, l, f, id)...)
				c := mustParse(t, argv)
				if c.Subcommand != "exec" || c.ContainerID != id {
					t.Fatalf("parsed subcommand %q id %q, want exec %q", c.Subcommand, c.ContainerID, id)
				}
				if got := c.Flags.Get("process"); got != f.process {
					t.Errorf("--process = %q, want %q", got, f.process)
				}
				if got := c.Flags.Get("console-socket"); got != l.console {
					t.Errorf("--console-socket = %q, want %q", got, l.console)
				}
				if got := runtime.ArgvBundle(c); got != l.bundle {
					t.Errorf("bundle from the command line = %q, want %q", got, l.bundle)
				}
			})
		}
	}
}

func TestStateArgv(t *testing.T) {
	tests := []struct {
		shape shape
		want  []string
	}{
		{shapeContainerd, []string{"--root", "/t/runc-root", "state", "c1"}},
		{shapePodman, []string{"state", "c1"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.shape), func(t *testing.T) {
			if got := stateArgv(newLayout(tt.shape, "runc", "/t", "c1"), "c1"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("stateArgv = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewLayout(t *testing.T) {
	tests := []struct {
		shape     shape
		runtime   string
		wrapper   string
		config    string
		configEnv bool
		root      string
		stateRoot string
		bundle    string
	}{
		{shapeContainerd, "runc", "/t/execguard-runc", "/t/config.toml", true, "/t/runc-root", "/t/runc-root", "/t/c1"},
		{shapeContainerd, "crun", "/t/execguard-crun", "/t/config.toml", true, "/t/crun-root", "/t/crun-root", "/t/c1"},
		{shapePodman, "runc", "/t/libexec/runc", "/t/libexec/execguard.toml", false, "", "/run/runc", "/t/storage/overlay-containers/c1/userdata"},
		{shapePodman, "crun", "/t/libexec/crun", "/t/libexec/execguard.toml", false, "", "/run/crun", "/t/storage/overlay-containers/c1/userdata"},
	}
	for _, tt := range tests {
		t.Run(string(tt.shape)+"/"+tt.runtime, func(t *testing.T) {
			l := newLayout(tt.shape, tt.runtime, "/t", "c1")
			if l.wrapper != tt.wrapper || l.config != tt.config || l.configEnv != tt.configEnv ||
				l.root != tt.root || l.stateRoot != tt.stateRoot || l.bundle != tt.bundle {
				t.Errorf("newLayout = %+v, want wrapper %q config %q configEnv %v root %q stateRoot %q bundle %q",
					l, tt.wrapper, tt.config, tt.configEnv, tt.root, tt.stateRoot, tt.bundle)
			}
		})
	}
}

// The wrapper, called by the layout's name in the layout's environment, must
// find the benchmark's configuration and in it the real runtime.
func TestWrapperFindsConfig(t *testing.T) {
	for _, sh := range shapes {
		for _, rt := range runtimes {
			t.Run(string(sh)+"/"+rt, func(t *testing.T) {
				tmp := t.TempDir()
				l := newLayout(sh, rt, tmp, "c1")
				eventLog := filepath.Join(tmp, "events.ndjson")
				real := "/opt/" + rt + "/bin/" + rt
				if err := os.MkdirAll(filepath.Dir(l.config), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(l.config, []byte(wrapperConfig(eventLog, rt, real)), 0o644); err != nil {
					t.Fatal(err)
				}
				// A caller's EXECGUARD_CONFIG must not leak into a Podman run.
				base := []string{"PATH=/bin", config.EnvPath + "=/elsewhere.toml"}
				t.Setenv(config.EnvPath, "")
				for _, kv := range runtimeEnv(base, l) {
					if v, ok := strings.CutPrefix(kv, config.EnvPath+"="); ok {
						t.Setenv(config.EnvPath, v)
					}
				}
				path := config.PathFor(l.wrapper)
				if path != l.config {
					t.Fatalf("wrapper reads %q, want %q", path, l.config)
				}
				cfg, err := config.Load(path)
				if err != nil {
					t.Fatal(err)
				}
				got, err := cfg.RuntimePath(l.wrapper)
				if err != nil || got != real {
					t.Errorf("RuntimePath(%q) = %q, %v; want %q", l.wrapper, got, err, real)
				}
				if cfg.EventLog != eventLog {
					t.Errorf("event_log = %q, want %q", cfg.EventLog, eventLog)
				}
			})
		}
	}
}

func TestRuntimeEnv(t *testing.T) {
	base := []string{"PATH=/bin", config.EnvPath + "=/x.toml", "HOME=/root"}
	tests := []struct {
		shape shape
		want  []string
	}{
		{shapeContainerd, []string{"PATH=/bin", "HOME=/root", config.EnvPath + "=/t/config.toml"}},
		{shapePodman, []string{"PATH=/bin", "HOME=/root"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.shape), func(t *testing.T) {
			if got := runtimeEnv(base, newLayout(tt.shape, "runc", "/t", "c1")); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("runtimeEnv = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRatioName(t *testing.T) {
	tests := []struct {
		base    string
		shape   shape
		runtime string
		want    string
	}{
		{"exec", shapeContainerd, "runc", "exec"},
		{"passthrough", shapeContainerd, "runc", "passthrough"},
		{"exec", shapePodman, "runc", "exec-podman-runc"},
		{"passthrough", shapePodman, "runc", "passthrough-podman-runc"},
		{"exec", shapePodman, "crun", "exec-podman-crun"},
		{"passthrough", shapePodman, "crun", "passthrough-podman-crun"},
		{"exec", shapeContainerd, "crun", "exec-containerd-crun"},
	}
	for _, tt := range tests {
		if got := ratioName(tt.base, tt.shape, tt.runtime); got != tt.want {
			t.Errorf("ratioName(%q, %q, %q) = %q, want %q", tt.base, tt.shape, tt.runtime, got, tt.want)
		}
	}
}

func TestParseShapeAndRuntime(t *testing.T) {
	for _, s := range []string{"containerd", "podman"} {
		if got, err := parseShape(s); err != nil || string(got) != s {
			t.Errorf("parseShape(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "cri-o", "Podman"} {
		if _, err := parseShape(s); err == nil {
			t.Errorf("parseShape(%q): no error", s)
		}
	}
	for _, r := range []string{"runc", "crun"} {
		if err := checkRuntime(r); err != nil {
			t.Errorf("checkRuntime(%q): %v", r, err)
		}
	}
	for _, r := range []string{"", "youki", "execguard-runc"} {
		if err := checkRuntime(r); err == nil {
			t.Errorf("checkRuntime(%q): no error", r)
		}
	}
}
