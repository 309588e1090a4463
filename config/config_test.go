package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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
		{name: "recording cap", content: "tty_record_max_bytes = 65536\n", check: func(t *testing.T, c Config) {
			if c.TTYRecordCap() != 65536 {
				t.Errorf("cap %d, want 65536", c.TTYRecordCap())
			}
		}},
		{name: "recording cap default", content: "fail_mode = \"open\"\n", check: func(t *testing.T, c Config) {
			if c.TTYRecordCap() != DefaultTTYRecordMaxBytes {
				t.Errorf("cap %d, want the default", c.TTYRecordCap())
			}
		}},
		{name: "negative recording cap", content: "tty_record_max_bytes = -1\n", wantErr: []string{"tty_record_max_bytes -1"},
			check: func(t *testing.T, c Config) {
				if c.TTYRecordCap() != DefaultTTYRecordMaxBytes {
					t.Errorf("cap %d, want the default", c.TTYRecordCap())
				}
			}},
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

func TestRedactSettings(t *testing.T) {
	tests := []struct {
		name, file string
		want       []string
		errPart    string
	}{
		{"defaults", ``, detect.DefaultRedactPatterns, ""},
		{"replaced", "redact = ['x(y)']\n", []string{"x(y)"}, ""},
		{"none", "redact = []\n", []string{}, ""},
		{"invalid", "redact = ['(']\n", detect.DefaultRedactPatterns, `redact pattern "("`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("x.toml", []byte(tt.file))
			if tt.errPart == "" && err != nil || tt.errPart != "" && (err == nil || !strings.Contains(err.Error(), tt.errPart)) {
				t.Fatalf("err = %v, want %q", err, tt.errPart)
			}
			if len(c.Redact) != len(tt.want) || (len(tt.want) > 0 && c.Redact[0] != tt.want[0]) {
				t.Errorf("Redact = %q, want %q", c.Redact, tt.want)
			}
			if _, err := c.Redactor(); err != nil {
				t.Errorf("Redactor after Parse: %v", err)
			}
		})
	}
}

// TestUntrusted: a configuration anyone but root can write is refused: the
// defaults apply, and a fail_mode = closed in it still holds.
func TestUntrusted(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		mode     os.FileMode
		chown    int
		file     string
		wantFail detect.FailMode
		errPart  string
	}{
		{"group writable", 0o664, -1, "event_log = \"/tmp/x\"\n", detect.FailOpen, "writable by group or others (mode 0664)"},
		{"world writable closed", 0o646, -1, "fail_mode = \"closed\"\nevent_log = \"/tmp/x\"\n", detect.FailClosed, "writable by group or others"},
		{"other owner", 0o644, 4242, "event_log = \"/tmp/x\"\n", detect.FailOpen, "owned by uid 4242"},
		{"trusted", 0o644, -1, "event_log = \"/tmp/x\"\n", detect.FailOpen, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.chown >= 0 && os.Geteuid() != 0 {
				t.Skip("needs root to give the file away")
			}
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".toml")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			if tt.chown >= 0 {
				if err := os.Chown(path, tt.chown, tt.chown); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(path)
			if tt.errPart == "" {
				if err != nil || c.EventLog != "/tmp/x" {
					t.Fatalf("trusted file: %v, event_log %q", err, c.EventLog)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errPart) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want it to name the file and say %q", err, tt.errPart)
			}
			if c.EventLog != DefaultEventLog || c.FailMode != tt.wantFail {
				t.Errorf("event_log %q fail_mode %q, want the default log and %q", c.EventLog, c.FailMode, tt.wantFail)
			}
		})
	}
}

// TestTruncatedKeepsFailClosed: a file cut mid-way (not TOML any more)
// gives the defaults, but not a weaker fail mode than it declares.
func TestTruncatedKeepsFailClosed(t *testing.T) {
	tests := []struct {
		file string
		want detect.FailMode
	}{
		{"fail_mode = \"closed\"\nevent_log = \"/var/lo", detect.FailClosed},
		{"fail_mode = 'closed' # strict\n[runtimes]\nrunc = \"/usr/sb", detect.FailClosed},
		{"fail_mode = \"open\"\nevent_log = \"/var/lo", detect.FailOpen},
		{"[runtimes]\nfail_mode = \"closed\"\nrunc = \"/usr/sb", detect.FailOpen},
		{"event_log = \"/var/lo", detect.FailOpen},
	}
	for _, tt := range tests {
		c, err := Parse("cut.toml", []byte(tt.file))
		if err == nil {
			t.Errorf("%q: no error", tt.file)
		}
		if c.FailMode != tt.want {
			t.Errorf("%q: fail_mode %q, want %q", tt.file, c.FailMode, tt.want)
		}
	}
}

// TestFIFOConfig: a FIFO at the configuration path does not hang the
// caller (every runtime call, pass-through ones included, loads it); it is
// refused and the defaults apply.
func TestFIFOConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Load(path)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Load(FIFO) = %v, want a refusal", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Load blocked on a FIFO")
	}
}

func TestValidNamespace(t *testing.T) {
	tests := []struct {
		ns string
		ok bool
	}{
		{"default", true},
		{"prod_eu", true},
		{"", false},
		{"prod-eu", false},
		{"Prod", false},
		{"a b", false},
		{"a/b", false},
		{"a:b", false},
		{strings.Repeat("a", 101), false},
	}
	for _, tt := range tests {
		if err := ValidNamespace(tt.ns); (err == nil) != tt.ok {
			t.Errorf("ValidNamespace(%q) = %v, want ok %v", tt.ns, err, tt.ok)
		}
	}
	cfg, err := Parse("/c.toml", []byte(`data_stream_namespace = "prod-eu"`))
	if err == nil || !strings.Contains(err.Error(), "data_stream_namespace") || cfg.DataStreamNamespace != "default" {
		t.Errorf("invalid namespace: %q, %v; want the error and the default", cfg.DataStreamNamespace, err)
	}
	if cfg, err := Parse("/c.toml", []byte(`data_stream_namespace = "prod_eu"`)); err != nil || cfg.DataStreamNamespace != "prod_eu" {
		t.Errorf("valid namespace: %q, %v", cfg.DataStreamNamespace, err)
	}
}
