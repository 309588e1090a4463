package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/execguard/execguard/detect"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		content string // "" means no file
		wantErr []string
		check   func(t *testing.T, c Config)
	}{
		{name: "missing file gives defaults", check: func(t *testing.T, c Config) {
			if c.EventLog != DefaultEventLog || c.InteractiveAction != detect.ActionAlert || c.FailMode != detect.FailOpen {
				t.Errorf("got %+v", c)
			}
			if c.Runtimes["runc"] != "/usr/sbin/runc" || c.Runtimes["crun"] != "/usr/bin/crun" {
				t.Errorf("runtimes %v", c.Runtimes)
			}
		}},
		{name: "full file", content: `
event_log = "/var/log/x/events.ndjson"
interactive_action = "block"
fail_mode = "closed"
[runtimes]
runc = "/opt/runc"
kata = "/opt/kata"
`, check: func(t *testing.T, c Config) {
			if c.EventLog != "/var/log/x/events.ndjson" || c.InteractiveAction != detect.ActionBlock || c.FailMode != detect.FailClosed {
				t.Errorf("got %+v", c)
			}
			if c.Runtimes["runc"] != "/opt/runc" || c.Runtimes["crun"] != "/usr/bin/crun" || c.Runtimes["kata"] != "/opt/kata" {
				t.Errorf("runtimes %v", c.Runtimes)
			}
		}},
		{name: "bad values: every problem named, defaults kept", content: `
interactive_action = "shout"
fail_mode = "ajar"
event_log = "relative.log"
[runtimes]
runc = "runc"
`, wantErr: []string{`interactive_action "shout"`, `fail_mode "ajar"`, `event_log "relative.log"`, `runtimes.runc "runc"`, "never looked up in PATH"},
			check: func(t *testing.T, c Config) {
				if c.InteractiveAction != detect.ActionAlert || c.FailMode != detect.FailOpen || c.EventLog != DefaultEventLog || c.Runtimes["runc"] != "/usr/sbin/runc" {
					t.Errorf("invalid values not replaced by defaults: %+v", c)
				}
			}},
		{name: "unknown key, with position; the rest still read", content: "fail_mode = \"closed\"\nintractive_action = \"block\"\n[runtimes]\nrunc = \"/opt/runc\"\n",
			wantErr: []string{"line 2", `unknown key "intractive_action"`},
			check: func(t *testing.T, c Config) {
				if c.FailMode != detect.FailClosed || c.Runtimes["runc"] != "/opt/runc" {
					t.Errorf("salvage lost values: %+v", c)
				}
			}},
		{name: "syntax error, with position", content: "fail_mode = \"closed\nx", wantErr: []string{"line 1"},
			check: func(t *testing.T, c Config) {
				if c.Runtimes["runc"] != "/usr/sbin/runc" {
					t.Errorf("runtimes %v", c.Runtimes)
				}
			}},
		{name: "wrong type", content: "interactive_action = 3\n", wantErr: []string{"line 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(path)
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("Load: %v", err)
			}
			for _, part := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), part) {
					t.Errorf("err = %v, want it to contain %q", err, part)
				}
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestRuntimePath(t *testing.T) {
	c := Default()
	for argv0, want := range map[string]string{
		"/usr/local/bin/execguard-runc":     "/usr/sbin/runc",
		"/usr/local/libexec/execguard/crun": "/usr/bin/crun",
		"execguard-crun":                    "/usr/bin/crun",
	} {
		got, err := c.RuntimePath(argv0)
		if err != nil || got != want {
			t.Errorf("RuntimePath(%q) = %q, %v; want %q", argv0, got, err, want)
		}
	}
	if _, err := c.RuntimePath("/usr/local/bin/execguard-runtime"); err == nil {
		t.Errorf("no error for a name without a runtime")
	}
}

func TestPathFor(t *testing.T) {
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "runc")
	t.Setenv(EnvPath, "")
	if got := PathFor(wrapper); got != DefaultPath {
		t.Errorf("no file beside the wrapper: %q, want the default", got)
	}
	beside := filepath.Join(dir, BesideWrapper)
	if err := os.WriteFile(beside, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := PathFor(wrapper); got != beside {
		t.Errorf("file beside the wrapper: %q, want %q", got, beside)
	}
	if got := PathFor("runc"); got != DefaultPath {
		t.Errorf("relative argv0: %q, want the default", got)
	}
	t.Setenv(EnvPath, "/x/y.toml")
	if got := PathFor(wrapper); got != "/x/y.toml" {
		t.Errorf("with %s: %q", EnvPath, got)
	}
}
