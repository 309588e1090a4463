package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
)

func TestParseSettings(t *testing.T) {
	base := DefaultSettings()
	tests := []struct {
		name    string
		text    string
		check   func(Settings) bool
		wantErr string
	}{
		{"empty keeps the base", "  \n", func(s Settings) bool { return s == base }, ""},
		{"overrides", `state_dir = "/run/x"
event_log = "/var/log/x.ndjson"
metrics_address = "127.0.0.1:9464"
log_level = "debug"
status_interval = "2s"
`, func(s Settings) bool {
			return s.StateDir == "/run/x" && s.EventLog == "/var/log/x.ndjson" && s.MetricsAddress == "127.0.0.1:9464" &&
				s.LogLevel == "debug" && time.Duration(s.StatusInterval) == 2*time.Second &&
				s.Socket == base.Socket && s.PluginName == base.PluginName
		}, ""},
		{"unknown key", `stat_dir = "/x"`, nil, "stat_dir"},
		{"relative paths", `state_dir = "run/x"` + "\n" + `log_file = "x.log"`, nil, "state_dir"},
		{"bad index", `plugin_index = "7"`, nil, "plugin_index"},
		{"bad level", `log_level = "loud"`, nil, "log_level"},
		{"bad duration", `status_interval = "soon"`, nil, "soon"},
		{"not TOML", `state_dir = `, nil, "plugin configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSettings(base, []byte(tt.text))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(s) {
				t.Errorf("settings = %+v", s)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(`event_log = "/var/log/a.ndjson"
state_dir = "/run/a"
cluster_name = "c1"
`), 0o600)
	s := DefaultSettings()
	s.ExecguardConfig = cfg
	n, err := s.Resolve()
	if err != nil || n.EventLog != "/var/log/a.ndjson" || n.StateDir != "/run/a" || n.ClusterName != "c1" {
		t.Errorf("Resolve = %+v, %v", n, err)
	}
	s.StateDir = "/run/b"
	if n, _ := s.Resolve(); n.StateDir != "/run/b" || n.EventLog != "/var/log/a.ndjson" {
		t.Errorf("override: %+v", n)
	}
	s.ExecguardConfig = filepath.Join(dir, "missing.toml")
	if n, err := s.Resolve(); err != nil || n.EventLog == "" {
		t.Errorf("missing execguard config: %+v, %v (want its defaults)", n, err)
	}
}

func TestCapLabels(t *testing.T) {
	in := map[string]string{}
	for i := range 1000 {
		in[strings.Repeat("k", 3)+string(rune('a'+i%26))+string(rune('a'+i/26))] = "v"
	}
	in[strings.Repeat("x", maxKeyBytes+1)] = "long key"
	in["big"] = strings.Repeat("v", maxValueBytes+1)
	out, dropped := capLabels(in)
	if len(out) != maxLabels || dropped != len(in)-maxLabels {
		t.Errorf("kept %d, dropped %d of %d", len(out), dropped, len(in))
	}
	if _, ok := out["big"]; ok {
		t.Error("kept a value over the bound")
	}
	again, _ := capLabels(in)
	for k := range out {
		if _, ok := again[k]; !ok {
			t.Fatal("the same labels do not give the same bounded set")
		}
	}
	if out, dropped := capLabels(map[string]string{"io.cri-containerd.kind": "sandbox", "app": "x"}); len(out) != 1 || out["app"] != "x" || dropped != 0 {
		t.Errorf("containerd's own label kept: %v, %d", out, dropped)
	}
	if out, dropped := capLabels(nil); out != nil || dropped != 0 {
		t.Error("nil labels")
	}
}

func TestBuildRecord(t *testing.T) {
	ann := map[string]string{
		"io.kubernetes.cri.image-name":        "registry.example/app@sha256:abc",
		"io.kubernetes.cri.sandbox-name":      "ann-pod",
		"io.kubernetes.cri.sandbox-namespace": "ann-ns",
		"io.kubernetes.cri.sandbox-uid":       "ann-uid",
		"io.kubernetes.cri.container-name":    "ann-name",
		"io.kubernetes.cri.sandbox-id":        "sb",
	}
	c := &api.Container{Id: "c1", Annotations: ann}
	// Without its pod, the annotations say what they can.
	r := buildRecord(nil, c)
	if r.PodName != "ann-pod" || r.PodNamespace != "ann-ns" || r.PodUID != "ann-uid" || r.Name != "ann-name" ||
		r.SandboxID != "sb" || r.Image != "registry.example/app@sha256:abc" || r.ImageDigest != "sha256:abc" {
		t.Errorf("from annotations: %+v", r)
	}
	// The pod and NRI's image win.
	pi := newPodInfo(&api.PodSandbox{Id: "sb", Name: "p", Namespace: "ns", Uid: "u", Labels: map[string]string{"a": "b"}, RuntimeHandler: "kata"})
	c.Name = "n"
	c.Image = &api.Image{Name: "registry.example/app:1", Digest: "sha256:def"}
	r = buildRecord(pi, c)
	if r.PodName != "p" || r.PodNamespace != "ns" || r.PodUID != "u" || r.PodLabels["a"] != "b" || r.Name != "n" ||
		r.RuntimeHandler != "kata" || r.Image != "registry.example/app:1" || r.ImageDigest != "sha256:def" {
		t.Errorf("from the pod: %+v", r)
	}
	if !sameRecord(r, buildRecord(pi, c)) || sameRecord(r, buildRecord(nil, c)) {
		t.Error("sameRecord")
	}
}

func TestTTYHint(t *testing.T) {
	if !ttyHint([]string{"PATH=/bin", "TERM=xterm"}) || ttyHint([]string{"TERM=dumb"}) || ttyHint(nil) {
		t.Error("ttyHint")
	}
}
