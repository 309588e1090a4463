package detect

import (
	"strings"
	"testing"
)

func execFacts(terminal bool) Facts {
	return Facts{
		Operation: OpExec,
		Process:   Process{Known: true, Args: []string{"sh"}, Terminal: terminal},
		Container: Container{ID: "22858e7c2c55d6b8fa2db42b", Name: "shell", PodName: "web", PodNamespace: "default"},
	}
}

func TestDecide(t *testing.T) {
	unknown := execFacts(false)
	unknown.Process = Process{}
	createTTY := execFacts(true)
	createTTY.Operation = OpContainerStart
	createUnknown := createTTY
	createUnknown.Process = Process{}
	broken := Policy{Interactive: ActionAlert, FailMode: FailClosed, Err: "config: bad"}
	brokenOpen := Policy{Interactive: ActionAlert, FailMode: FailOpen, Err: "config: bad"}

	tests := []struct {
		name        string
		facts       Facts
		policy      Policy
		interactive bool
		alert       bool
		block       bool
		reason      string
	}{
		{"tty exec, alert", execFacts(true), Policy{ActionAlert, FailOpen, ""}, true, true, false, ""},
		{"tty exec, log", execFacts(true), Policy{ActionLog, FailOpen, ""}, true, false, false, ""},
		{"tty exec, block", execFacts(true), Policy{ActionBlock, FailOpen, ""}, true, true, true,
			`execguard: interactive exec into container "shell" of pod default/web blocked by policy`},
		{"plain exec, block", execFacts(false), Policy{ActionBlock, FailClosed, ""}, false, false, false, ""},
		{"tty container start, block", createTTY, Policy{ActionBlock, FailOpen, ""}, true, true, true,
			`execguard: interactive container "shell" of pod default/web blocked by policy`},
		{"unreadable spec, open", unknown, Policy{ActionBlock, FailOpen, ""}, false, false, false, ""},
		{"unreadable spec, closed", unknown, Policy{ActionAlert, FailClosed, ""}, false, false, true,
			"its process spec could not be read and fail mode is closed"},
		{"unreadable create config, closed: creates never fail closed", createUnknown, Policy{ActionAlert, FailClosed, ""}, false, false, false, ""},
		{"broken policy, closed, tty exec", execFacts(true), broken, true, true, true, "the configuration or policy could not be used"},
		{"broken policy, closed, plain exec", execFacts(false), broken, false, false, false, ""},
		{"broken policy, open, tty exec uses the default", execFacts(true), brokenOpen, true, true, false, ""},
		{"unknown operation", Facts{Operation: OpUnknown}, Policy{ActionBlock, FailClosed, ""}, false, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.facts, tt.policy)
			if d.Interactive != tt.interactive || d.Alert != tt.alert || d.Block != tt.block {
				t.Errorf("interactive, alert, block = %v, %v, %v; want %v, %v, %v",
					d.Interactive, d.Alert, d.Block, tt.interactive, tt.alert, tt.block)
			}
			if tt.reason != "" && !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason = %q, want it to contain %q", d.Reason, tt.reason)
			}
			if !tt.block && d.Reason != "" {
				t.Errorf("reason %q on an allowed call", d.Reason)
			}
		})
	}
}

func TestApplyAnnotations(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		want Container
	}{
		{
			name: "containerd CRI container",
			ann: map[string]string{
				"io.kubernetes.cri.container-name": "shell", "io.kubernetes.cri.container-type": "container",
				"io.kubernetes.cri.image-name": "docker.io/library/feasbox:1", "io.kubernetes.cri.sandbox-id": "b29e",
				"io.kubernetes.cri.sandbox-name": "feaspod", "io.kubernetes.cri.sandbox-namespace": "default",
				"io.kubernetes.cri.sandbox-uid": "uid-1",
			},
			want: Container{Name: "shell", Type: "container", Image: "docker.io/library/feasbox:1", SandboxID: "b29e",
				PodName: "feaspod", PodNamespace: "default", PodUID: "uid-1", Manager: "containerd"},
		},
		{
			name: "containerd CRI sandbox takes the pod name and pause image",
			ann: map[string]string{
				"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-name": "feaspod",
				"io.kubernetes.cri.podsandbox.image-name": "registry.k8s.io/pause:3.10",
			},
			want: Container{Name: "feaspod", Type: "sandbox", Image: "registry.k8s.io/pause:3.10", PodName: "feaspod", Manager: "containerd"},
		},
		{
			name: "CRI-O",
			ann: map[string]string{
				"io.kubernetes.pod.name": "web", "io.kubernetes.pod.namespace": "prod", "io.kubernetes.pod.uid": "u",
				"io.kubernetes.container.name": "app", "io.kubernetes.cri-o.ContainerType": "container",
				"io.kubernetes.cri-o.ImageName": "quay.io/x/app:2", "io.container.manager": "cri-o",
			},
			want: Container{Name: "app", Type: "container", Image: "quay.io/x/app:2", PodName: "web", PodNamespace: "prod", PodUID: "u", Manager: "cri-o"},
		},
		{name: "plain ctr container", ann: nil, want: Container{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Container
			ApplyAnnotations(&c, tt.ann)
			if c.Name != tt.want.Name || c.Type != tt.want.Type || c.Image != tt.want.Image || c.SandboxID != tt.want.SandboxID ||
				c.PodName != tt.want.PodName || c.PodNamespace != tt.want.PodNamespace || c.PodUID != tt.want.PodUID || c.Manager != tt.want.Manager {
				t.Errorf("got %+v\nwant %+v", c, tt.want)
			}
		})
	}
}

// A pod made through CRI with terminal escapes in its names: the refusal,
// which crictl prints on the user's terminal, shows them quoted; Kubernetes
// names stay as they are.
func TestRefusalNamesEscaped(t *testing.T) {
	f := execFacts(true)
	f.Container.PodName = "web\x1b]0;PWNED\x07\x1b[2J"
	f.Container.PodNamespace = "ns\x1b[31mRED"
	d := Decide(f, Policy{ActionBlock, FailOpen, ""})
	if strings.ContainsAny(d.Reason, "\x1b\x07") {
		t.Fatalf("raw control bytes in the refusal: %q", d.Reason)
	}
	if want := `of pod "ns\x1b[31mRED"/"web\x1b]0;PWNED\a\x1b[2J" blocked`; !strings.Contains(d.Reason, want) {
		t.Errorf("reason %q, want it to contain %s", d.Reason, want)
	}
	for in, want := range map[string]string{"web-1": "web-1", "": `""`, "a b": `"a b"`, "x\u202e": `"x\u202e"`, `q"`: `"q\""`} {
		if got := NameForPeople(in); got != want {
			t.Errorf("NameForPeople(%q) = %s, want %s", in, got, want)
		}
	}
}
