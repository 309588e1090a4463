package webhook

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	admissionv1 "k8s.io/api/admission/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/internal/ecsfields"
)

// sreExempt is "block interactive execs except for group sre" as one rule,
// and alerts on shells started by a service account.
const sreExempt = `process:
  selectors:
    - name: interactive
      operation: [exec, containerStart]
      sessionLeaderInteractive: true
    - name: sre
      kubernetesGroup: [sre]
    - name: robots
      kubernetesUser: ["system:serviceaccount:*"]
    - name: shells
      processName: [sh, bash]
  responses:
    - match: [interactive]
      exclude: [sre]
      actions: [alert, block]
    - match: [robots]
      actions: [alert]
    - match: [shells]
      actions: [log]
`

var noon = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newServer(t testing.TB, policyText string, events io.Writer) *Server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, policyText)
	log := logrus.New()
	log.SetOutput(io.Discard)
	s, err := New(Config{PolicyFile: path, Events: events, Log: log, Now: func() time.Time { return noon },
		Cluster: detect.Cluster{Name: "prod-eu"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func raw(t testing.TB, v any) runtime.RawExtension {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return runtime.RawExtension{Raw: b}
}

type user struct {
	name   string
	groups []string
}

var (
	alice = user{"alice", []string{"dev", "system:authenticated"}}
	bob   = user{"bob", []string{"sre", "system:authenticated"}}
	robot = user{"system:serviceaccount:ci:deployer", []string{"system:serviceaccounts", "system:authenticated"}}
)

func request(t testing.TB, u user, sub string, op admissionv1.Operation, obj, old any) *admissionv1.AdmissionRequest {
	r := &admissionv1.AdmissionRequest{
		UID:         types.UID("uid-" + sub),
		Kind:        metav1.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"},
		Resource:    metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		SubResource: sub, Name: "web", Namespace: "demo", Operation: op,
		UserInfo: authnv1.UserInfo{Username: u.name, Groups: u.groups},
	}
	if obj != nil {
		r.Object = raw(t, obj)
	}
	if old != nil {
		r.OldObject = raw(t, old)
	}
	return r
}

func execOpts(tty, stdin bool, cmd ...string) *corev1.PodExecOptions {
	return &corev1.PodExecOptions{Container: "app", Command: cmd, TTY: tty, Stdin: stdin, Stdout: true}
}

func debugPod(ecs ...corev1.EphemeralContainer) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "demo", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{EphemeralContainers: ecs},
	}
}

func debugger(name string, tty bool, cmd ...string) corev1.EphemeralContainer {
	return corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: name, Image: "docker.io/library/busybox:e2e", Command: cmd, TTY: tty, Stdin: tty}}
}

// decision is the part of a webhook document the tests read.
type decision struct {
	Event struct {
		Type    []string `json:"type"`
		Action  string   `json:"action"`
		Outcome string   `json:"outcome"`
		Dataset string   `json:"dataset"`
	} `json:"event"`
	User struct {
		Name  string `json:"name"`
		Group struct {
			Name []string `json:"name"`
		} `json:"group"`
	} `json:"user"`
	Process struct {
		Name        string   `json:"name"`
		Args        []string `json:"args"`
		Interactive bool     `json:"interactive"`
	} `json:"process"`
	Container struct {
		Name string `json:"name"`
	} `json:"container"`
	Orchestrator struct {
		Namespace string `json:"namespace"`
		Resource  struct {
			Name  string            `json:"name"`
			Label map[string]string `json:"label"`
		} `json:"resource"`
	} `json:"orchestrator"`
	CloudDefend struct {
		MatchedSelectors []string `json:"matched_selectors"`
	} `json:"cloud_defend"`
	Execguard struct {
		Action       string `json:"action"`
		Stdin        string `json:"stdin"`
		AdmissionUID string `json:"admission_uid"`
		Subresource  string `json:"subresource"`
	} `json:"execguard"`
}

func decisions(t *testing.T, b []byte) []decision {
	t.Helper()
	var out []decision
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var d decision
		if err := json.Unmarshal(line, &d); err != nil {
			t.Fatalf("event line %q: %v", line, err)
		}
		out = append(out, d)
	}
	return out
}

func TestReview(t *testing.T) {
	tests := []struct {
		name    string
		req     func(t testing.TB) *admissionv1.AdmissionRequest
		allowed bool
		message string // in the refusal
		events  int
		action  string   // event.action of the first event
		exec    string   // execguard.action of the first event
		sels    []string // of the first event
	}{
		{name: "alice exec -it refused",
			req: func(t testing.TB) *admissionv1.AdmissionRequest {
				return request(t, alice, "exec", admissionv1.Connect, execOpts(true, true, "sh"), nil)
			},
			message: `execguard: interactive exec into container "app" of pod demo/web blocked by policy (selector interactive)`,
			events:  1, action: "exec", exec: "block", sels: []string{"interactive", "shells"}},
		{name: "bob exec -it allowed: group sre",
			req: func(t testing.TB) *admissionv1.AdmissionRequest {
				return request(t, bob, "exec", admissionv1.Connect, execOpts(true, true, "sh"), nil)
			},
			allowed: true, events: 1, action: "exec", exec: "log", sels: []string{"interactive", "sre", "shells"}},
		{name: "alice plain exec allowed",
			req: func(t testing.TB) *admissionv1.AdmissionRequest {
				return request(t, alice, "exec", admissionv1.Connect, execOpts(false, false, "id"), nil)
			},
			allowed: true, events: 1, action: "exec", exec: "none"},
		{name: "service account exec alerted",
			req: func(t testing.TB) *admissionv1.AdmissionRequest {
				return request(t, robot, "exec", admissionv1.Connect, execOpts(false, false, "id"), nil)
			},
			allowed: true, events: 1, action: "exec", exec: "alert", sels: []string{"robots"}},
		{name: "alice attach -it refused",
			req: func(t testing.TB) *admissionv1.AdmissionRequest {
				return request(t, alice, "attach", admissionv1.Connect, &corev1.PodAttachOptions{Container: "app", TTY: true, Stdin: true}, nil)
			},
			message: `execguard: interactive container "app" of pod demo/web blocked by policy (selector interactive)`,
			events:  1, action: "attach", exec: "block", sels: []string{"interactive"}},
		{name: "alice attach without terminal allowed",
			req: func(t testing.TB) *admissionv1.AdmissionRequest {
				return request(t, alice, "attach", admissionv1.Connect, &corev1.PodAttachOptions{Container: "app", Stdout: true}, nil)
			},
			allowed: true, events: 1, action: "attach", exec: "none"},
		{name: "alice debug -it refused, only the new container decided",
			req: func(t testing.TB) *admissionv1.AdmissionRequest {
				return request(t, alice, "ephemeralcontainers", admissionv1.Update,
					debugPod(debugger("old", true, "sh"), debugger("debugger-x", true, "sh")), debugPod(debugger("old", true, "sh")))
			},
			message: `execguard: interactive container "debugger-x" of pod demo/web blocked by policy (selector interactive)`,
			events:  1, action: "container-start", exec: "block", sels: []string{"interactive", "shells"}},
		{name: "bob debug -it allowed; its command is the image's, unknown here",
			req: func(t testing.TB) *admissionv1.AdmissionRequest {
				return request(t, bob, "ephemeralcontainers", admissionv1.Update, debugPod(debugger("debugger-y", true)), debugPod())
			},
			allowed: true, events: 1, action: "container-start", exec: "none", sels: []string{"interactive", "sre"}},
		{name: "ephemeral update adding nothing is not decided",
			req: func(t testing.TB) *admissionv1.AdmissionRequest {
				return request(t, alice, "ephemeralcontainers", admissionv1.Update, debugPod(debugger("old", true)), debugPod(debugger("old", true)))
			},
			allowed: true},
		{name: "other subresource not decided",
			req: func(t testing.TB) *admissionv1.AdmissionRequest {
				return request(t, alice, "log", admissionv1.Connect, &corev1.PodLogOptions{}, nil)
			},
			allowed: true},
		{name: "undecodable exec refused",
			req: func(t testing.TB) *admissionv1.AdmissionRequest {
				r := request(t, alice, "exec", admissionv1.Connect, nil, nil)
				r.Object = runtime.RawExtension{Raw: []byte(`{"command": 3}`)}
				return r
			},
			message: "execguard: pods/exec of demo/web: object:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events bytes.Buffer
			s := newServer(t, sreExempt, &events)
			req := tt.req(t)
			resp := s.Review(req)
			if resp.UID != req.UID {
				t.Errorf("response uid %q, want %q", resp.UID, req.UID)
			}
			if resp.Allowed != tt.allowed {
				t.Fatalf("allowed %v, want %v (%+v)", resp.Allowed, tt.allowed, resp.Result)
			}
			if !tt.allowed && (resp.Result == nil || !strings.Contains(resp.Result.Message, tt.message)) {
				t.Errorf("refusal %+v, want the message %q", resp.Result, tt.message)
			}
			ds := decisions(t, events.Bytes())
			if len(ds) != tt.events {
				t.Fatalf("%d events, want %d:\n%s", len(ds), tt.events, events.String())
			}
			if tt.events == 0 {
				return
			}
			d := ds[0]
			u := alice
			switch req.UserInfo.Username {
			case bob.name:
				u = bob
			case robot.name:
				u = robot
			}
			if d.User.Name != u.name || strings.Join(d.User.Group.Name, ",") != strings.Join(u.groups, ",") {
				t.Errorf("user %+v, want %+v", d.User, u)
			}
			if d.Event.Action != tt.action || d.Execguard.Action != tt.exec || d.Event.Dataset != Dataset {
				t.Errorf("event.action %q execguard.action %q dataset %q, want %q %q %q", d.Event.Action, d.Execguard.Action, d.Event.Dataset, tt.action, tt.exec, Dataset)
			}
			wantType, wantOutcome := "allowed", "success"
			if !tt.allowed {
				wantType, wantOutcome = "denied", "failure"
			}
			if strings.Join(d.Event.Type, ",") != wantType || d.Event.Outcome != wantOutcome {
				t.Errorf("event.type %v outcome %q, want %s %s", d.Event.Type, d.Event.Outcome, wantType, wantOutcome)
			}
			if strings.Join(d.CloudDefend.MatchedSelectors, ",") != strings.Join(tt.sels, ",") {
				t.Errorf("selectors %v, want %v", d.CloudDefend.MatchedSelectors, tt.sels)
			}
			if d.Orchestrator.Namespace != "demo" || d.Orchestrator.Resource.Name != "web" || d.Execguard.AdmissionUID != string(req.UID) {
				t.Errorf("orchestrator %+v admission uid %q", d.Orchestrator, d.Execguard.AdmissionUID)
			}
			if resp.AuditAnnotations["decision"] != tt.exec {
				t.Errorf("audit annotations %v, want decision %q", resp.AuditAnnotations, tt.exec)
			}
			indexesCleanly(t, events.Bytes())
		})
	}
}

// indexesCleanly: every leaf field of the decisions is one ECS (and Defend
// for Containers) maps, with a value its type takes, or is execguard's own,
// as for the runtime's documents.
func indexesCleanly(t *testing.T, lines []byte) {
	t.Helper()
	table, err := ecsfields.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(bytes.TrimSpace(lines), []byte("\n")) {
		var doc map[string]any
		if err := json.Unmarshal(line, &doc); err != nil {
			t.Fatalf("decision %s: %v", line, err)
		}
		for _, p := range table.Check(doc, "execguard.") {
			t.Errorf("decision document: %s", p)
		}
	}
}

// The recorded arguments go through the same redaction as the runtime's.
func TestReviewRedacts(t *testing.T) {
	var events bytes.Buffer
	s := newServer(t, sreExempt, &events)
	s.Review(request(t, alice, "exec", admissionv1.Connect, execOpts(false, false, "app", "--password", "hunter2"), nil))
	if strings.Contains(events.String(), "hunter2") {
		t.Errorf("the password reached the event: %s", events.String())
	}
	ds := decisions(t, events.Bytes())
	if len(ds) != 1 || len(ds[0].Process.Args) != 3 || ds[0].Process.Name != "app" {
		t.Errorf("events %+v, want one with the three arguments, redacted", ds)
	}
}

// A changed policy applies to the next request; an invalid one leaves the
// last good one in force, and the events say so.
func TestPolicyReload(t *testing.T) {
	var events bytes.Buffer
	s := newServer(t, sreExempt, &events)
	path := s.cfg.PolicyFile
	tty := func() *admissionv1.AdmissionRequest {
		return request(t, alice, "exec", admissionv1.Connect, execOpts(true, true, "sh"), nil)
	}
	if s.Review(tty()).Allowed {
		t.Fatal("alice's exec -it allowed under the first policy")
	}
	writeFile(t, path, strings.Replace(sreExempt, "kubernetesGroup: [sre]", "kubernetesGroup: [dev]", 1)+"\n# changed\n")
	if !s.Review(tty()).Allowed {
		t.Fatal("alice's exec -it refused after her group was exempted")
	}
	writeFile(t, path, "process:\n  selectors: [\n")
	if !s.Review(tty()).Allowed {
		t.Fatal("an invalid policy replaced the last good one")
	}
	if _, perr := s.Policy(); !strings.Contains(perr, "refused") {
		t.Errorf("policy error %q, want the refusal", perr)
	}
	if !strings.Contains(events.String(), `"policy_error":"policy `) {
		t.Errorf("the last event does not carry the policy error: %s", events.String())
	}
	// A removed file (a ConfigMap gone) leaves the last good policy too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if !s.Review(tty()).Allowed {
			t.Fatal("a removed policy file replaced the last good policy")
		}
	}
	if _, perr := s.Policy(); !strings.Contains(perr, "cannot read") {
		t.Errorf("policy error %q, want the file's absence", perr)
	}
	// Back, and valid: it applies.
	writeFile(t, path, sreExempt)
	if s.Review(tty()).Allowed {
		t.Fatal("the restored policy did not apply")
	}
	if _, perr := s.Policy(); perr != "" {
		t.Errorf("policy error %q after the fix", perr)
	}
}

// A webhook whose policy is invalid at start does not start.
func TestNewRefusesInvalidPolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, "process:\n  selectors:\n    - name: a\n      kubernetesGroup: sre\n")
	if _, err := New(Config{PolicyFile: path}); err == nil || !strings.Contains(err.Error(), "kubernetesGroup") {
		t.Errorf("New: %v, want an error about kubernetesGroup", err)
	}
}

func TestReviewJSON(t *testing.T) {
	s := newServer(t, sreExempt, nil)
	in, err := json.Marshal(&admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  request(t, alice, "exec", admissionv1.Connect, execOpts(true, true, "sh"), nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.ReviewJSON(in)
	if err != nil {
		t.Fatal(err)
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(out, &review); err != nil {
		t.Fatal(err)
	}
	if review.APIVersion != "admission.k8s.io/v1" || review.Kind != "AdmissionReview" || review.Response == nil ||
		review.Response.Allowed || review.Response.Result.Code != 403 || review.Response.UID != "uid-exec" {
		t.Errorf("answer %s", out)
	}
	for _, bad := range []string{`{`, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`} {
		if _, err := s.ReviewJSON([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
