package shim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/execguard/execguard/detect"
)

const specURL = "types.containerd.io/opencontainers/runtime-spec/1/Process"

func specAny(t testing.TB, p *specs.Process) *anypb.Any {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return &anypb.Any{TypeUrl: specURL, Value: b}
}

var self = detect.Caller{PID: 42, Name: "containerd-shim", Engine: "containerd-shim"}

func TestStdinOf(t *testing.T) {
	tests := []struct {
		terminal bool
		path     string
		want     detect.Stdin
		source   string
	}{
		{true, "/run/containerd/fifo/1/x-stdin", detect.StdinTerminal, SourceTerminal},
		{true, "", detect.StdinTerminal, SourceTerminal},
		{false, "/run/containerd/fifo/1/x-stdin", detect.StdinAttached, SourceFIFO},
		{false, "binary:///usr/bin/feeder?a=b", detect.StdinAttached, "binary"},
		{false, "file:///var/in", detect.StdinAttached, "file"},
		{false, "/odd/path://x", detect.StdinAttached, SourceFIFO},
		{false, "", detect.StdinNone, SourceNone},
	}
	for _, tt := range tests {
		got, src := stdinOf(tt.terminal, tt.path)
		if got != tt.want || src != tt.source {
			t.Errorf("stdinOf(%v, %q) = %q, %q; want %q, %q", tt.terminal, tt.path, got, src, tt.want, tt.source)
		}
	}
}

func TestExecFacts(t *testing.T) {
	ctr := detect.Container{ID: "c1", Name: "app", PodName: "web-1", PodNamespace: "shop", Runtime: "runc", Bundle: "/b/c1"}
	shell := &specs.Process{Args: []string{"sh"}, Env: []string{"PATH=/bin", "TOKEN=x"}, Cwd: "/", Terminal: true, User: specs.User{UID: 1000, GID: 10}}
	plain := &specs.Process{Args: []string{"id"}, Cwd: "/"}
	tests := []struct {
		name    string
		req     *taskAPI.ExecProcessRequest
		known   bool
		want    detect.Process
		stdin   detect.Stdin
		source  string
		problem string
	}{
		{"tty shell", &taskAPI.ExecProcessRequest{ID: "c1", ExecID: "e1", Terminal: true, Stdin: "/f/e1-stdin", Spec: specAny(t, shell)}, true,
			detect.Process{Known: true, Args: []string{"sh"}, Env: []string{"PATH=/bin", "TOKEN=x"}, Cwd: "/", Terminal: true, UID: 1000, GID: 10},
			detect.StdinTerminal, SourceTerminal, ""},
		{"pipe", &taskAPI.ExecProcessRequest{ID: "c1", ExecID: "e2", Stdin: "/f/e2-stdin", Spec: specAny(t, plain)}, true,
			detect.Process{Known: true, Args: []string{"id"}, Cwd: "/"}, detect.StdinAttached, SourceFIFO, ""},
		{"no stdin", &taskAPI.ExecProcessRequest{ID: "c1", ExecID: "e3", Spec: specAny(t, plain)}, true,
			detect.Process{Known: true, Args: []string{"id"}, Cwd: "/"}, detect.StdinNone, SourceNone, ""},
		{"no spec", &taskAPI.ExecProcessRequest{ID: "c1", ExecID: "e4", Terminal: true}, true,
			detect.Process{}, detect.StdinTerminal, SourceTerminal, "process spec: missing"},
		// A spec Go's decoder cannot read is hostile too (crun reads JSON
		// with comments): decided as the worst.
		{"malformed spec", &taskAPI.ExecProcessRequest{ID: "c1", ExecID: "e5", Spec: &anypb.Any{TypeUrl: specURL, Value: []byte(`{"args":["sh"`)}}, true,
			detect.Process{Known: true, Terminal: true}, detect.StdinTerminal, SourceTerminal, "malformed JSON"},
		{"wrong types", &taskAPI.ExecProcessRequest{ID: "c1", ExecID: "e6", Spec: &anypb.Any{TypeUrl: specURL, Value: []byte(`{"args":"sh"}`)}}, true,
			detect.Process{Known: true, Terminal: true}, detect.StdinTerminal, SourceTerminal, "want an array of strings"},
		// No size limit decides: a terminal after 5 MiB of padding is read.
		{"huge spec", &taskAPI.ExecProcessRequest{ID: "c1", ExecID: "e7", Spec: &anypb.Any{TypeUrl: specURL,
			Value: []byte(`{"env":["PAD=` + strings.Repeat("<", 5<<20) + `"],"terminal":true,"args":["sh"]}`)}}, true,
			detect.Process{Known: true, Args: []string{"sh"}, Env: []string{"PAD=" + strings.Repeat("<", 5<<20)}, Terminal: true}, detect.StdinTerminal, SourceTerminal, ""},
		// A spec two runtimes read differently is decided as the worst.
		{"ambiguous spec", &taskAPI.ExecProcessRequest{ID: "c1", ExecID: "e10", Spec: &anypb.Any{TypeUrl: specURL, Value: []byte(`{"terminal":true,"Terminal":false,"args":["sh"]}`)}}, true,
			detect.Process{Known: true, Terminal: true}, detect.StdinTerminal, SourceTerminal, "hostile"},
		{"empty spec", &taskAPI.ExecProcessRequest{ID: "c1", ExecID: "e8", Spec: &anypb.Any{TypeUrl: specURL}}, true,
			detect.Process{}, detect.StdinNone, SourceNone, "empty"},
		{"container not seen created", &taskAPI.ExecProcessRequest{ID: "c9", ExecID: "e9", Spec: specAny(t, plain)}, false,
			detect.Process{Known: true, Args: []string{"id"}, Cwd: "/"}, detect.StdinNone, SourceNone, "bundle config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := execFacts(tt.req, self, ctr, tt.known, t.TempDir(), "")
			if f.Operation != detect.OpExec || f.Subcommand != "exec" || f.ExecID != tt.req.ExecID || f.ExecKind != detect.ExecEngine || f.Caller != self {
				t.Errorf("facts %+v: want an engine exec %s by the shim", f, tt.req.ExecID)
			}
			if f.Container.ID != tt.req.ID {
				t.Errorf("container id %q, want %q", f.Container.ID, tt.req.ID)
			}
			if tt.known && f.Container.PodName != "web-1" {
				t.Errorf("container %+v: want the one recorded at create", f.Container)
			}
			gotJSON, _ := json.Marshal(f.Process)
			wantJSON, _ := json.Marshal(tt.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("process %s, want %s", gotJSON, wantJSON)
			}
			if f.Stdin != tt.stdin || f.StdinSource != tt.source {
				t.Errorf("stdin %q/%q, want %q/%q", f.Stdin, f.StdinSource, tt.stdin, tt.source)
			}
			problems := strings.Join(f.Problems, "; ")
			if tt.problem == "" && problems != "" || !strings.Contains(problems, tt.problem) {
				t.Errorf("problems %q, want %q", problems, tt.problem)
			}
		})
	}
}

func TestCreateFacts(t *testing.T) {
	ttyCfg := `{"process":{"terminal":true,"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}},` +
		`"annotations":{"io.kubernetes.cri.container-name":"console","io.kubernetes.cri.sandbox-name":"debug","io.kubernetes.cri.sandbox-namespace":"ops","io.kubernetes.cri.image-name":"docker.io/library/busybox:1"}}`
	tests := []struct {
		name     string
		config   []byte // nil: no config.json
		terminal bool
		stdin    string
		process  detect.Process
		podName  string
		want     detect.Stdin
		problem  string
	}{
		{"tty container", []byte(ttyCfg), true, "/f/stdin", detect.Process{Known: true, Args: []string{"sh"}, Cwd: "/", Terminal: true}, "debug", detect.StdinTerminal, ""},
		{"missing config", nil, false, "", detect.Process{}, "", detect.StdinNone, "no such file"},
		{"malformed config", []byte(`{"process":`), false, "", detect.Process{Known: true, Terminal: true}, "", detect.StdinTerminal, "malformed JSON"},
		// No size limit decides: the padded env of a pod's author does not
		// hide the terminal (it was a 4 MiB cap, once).
		{"huge config", []byte(`{"process":{"env":["PAD=` + strings.Repeat(`\u003c`, 1<<20) + `"],"terminal":true,"args":["sh"]},"annotations":{"io.kubernetes.cri.sandbox-name":"p"}}`),
			true, "", detect.Process{Known: true, Args: []string{"sh"}, Env: []string{"PAD=" + strings.Repeat("<", 1<<20)}, Terminal: true}, "p", detect.StdinTerminal, ""},
		{"ambiguous config", []byte(`{"process":{"terminal":false,"Terminal":true,"args":["sh"]}}`), false, "", detect.Process{Known: true, Terminal: true}, "", detect.StdinTerminal, "hostile"},
		{"no process", []byte(`{"annotations":{"io.kubernetes.cri.sandbox-name":"p"}}`), false, "/f/in", detect.Process{}, "p", detect.StdinAttached, "no process"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bundle := t.TempDir()
			if tt.config != nil {
				if err := os.WriteFile(filepath.Join(bundle, "config.json"), tt.config, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f := createFacts(&taskAPI.CreateTaskRequest{ID: "c1", Bundle: bundle, Terminal: tt.terminal, Stdin: tt.stdin}, "runc", self, "")
			if f.Operation != detect.OpContainerStart || f.Subcommand != "create" || f.Container.Bundle != bundle || f.Container.Runtime != "runc" {
				t.Errorf("facts %+v: want the container start of %s", f, bundle)
			}
			gotJSON, _ := json.Marshal(f.Process)
			wantJSON, _ := json.Marshal(tt.process)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("process %s, want %s", gotJSON, wantJSON)
			}
			if f.Container.PodName != tt.podName || f.Stdin != tt.want {
				t.Errorf("pod %q stdin %q, want %q %q", f.Container.PodName, f.Stdin, tt.podName, tt.want)
			}
			problems := strings.Join(f.Problems, "; ")
			if tt.problem == "" && problems != "" || !strings.Contains(problems, tt.problem) {
				t.Errorf("problems %q, want %q", problems, tt.problem)
			}
		})
	}
}
