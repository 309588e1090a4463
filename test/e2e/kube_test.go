//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/eql"
	"github.com/execguard/execguard/plugin"
	"github.com/execguard/execguard/test/kube"
	"github.com/execguard/execguard/test/node"
)

// kubeFront is one way a node puts execguard in front of the runtime; each
// runs the whole Kubernetes suite.
type kubeFront struct {
	name  string
	front front
	opts  []envOption
}

func kubeFronts() []kubeFront {
	return []kubeFront{
		{name: "containerd-shim", front: frontShim},       // execguard's shim serves the runc handler
		{name: "containerd-wrapper", front: frontWrapper}, // the runc handler's BinaryName is the wrapper
	}
}

// TestKubernetes drives a real single-node Kubernetes (etcd, apiserver,
// scheduler, kubelet) in front of a node running execguard, through
// kubectl: exec with and without a terminal, exec with a shell on stdin,
// an ephemeral debug container, kubectl run -it, kubectl cp and an exec
// liveness probe in alert mode, then what kubectl shows in block mode.
func TestKubernetes(t *testing.T) {
	for _, f := range kubeFronts() {
		t.Run(f.name, func(t *testing.T) { kubernetesSuite(t, f.front, f.opts...) })
	}
}

const kubeNamespace = "demo"

// webPod is a long-running pod with labels; probePod's container has a
// terminal and an exec liveness probe.
func kubePods(nodeName string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: %[1]s
  labels: {app: web, tier: frontend}
spec:
  nodeName: %[2]s
  hostNetwork: true
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: %[3]s
    imagePullPolicy: Never
    command: [sleep, "3600"]
---
apiVersion: v1
kind: Pod
metadata:
  name: probed
  namespace: %[1]s
spec:
  nodeName: %[2]s
  hostNetwork: true
  terminationGracePeriodSeconds: 0
  containers:
  - name: console
    image: %[3]s
    imagePullPolicy: Never
    command: [sh]
    stdin: true
    tty: true
    livenessProbe:
      exec: {command: ["true"]}
      periodSeconds: 1
      failureThreshold: 3
`, kubeNamespace, nodeName, node.BusyboxImage)
}

type kubeEnv struct {
	*env
	c     *kube.Cluster
	front front
}

func kubernetesSuite(t *testing.T, fr front, opts ...envOption) {
	binDir := os.Getenv(kube.BinDirEnv)
	if binDir == "" {
		binDir = kube.DefaultBinDir
	}
	if _, err := kube.FindBinaries(binDir); err != nil {
		t.Fatalf("e2e prerequisites missing: %v", err)
	}
	e := newFrontEnv(t, "alert", fr, opts...)
	pluginLog := filepath.Join(e.dir, "plugin.log")
	startNRIPlugin(t, e.dir, e.node.NRISocket, e.configPath, pluginLog)
	waitStatus(t, filepath.Join(e.dir, "state"), "the plugin connected", func(s plugin.Status) bool {
		return s.Connected && !s.Synchronized.IsZero()
	})
	t.Cleanup(func() {
		if b, err := os.ReadFile(pluginLog); err == nil && t.Failed() {
			t.Logf("plugin log:\n%s", tail(string(b), 30))
		}
	})

	dir, err := os.MkdirTemp("", "egkube-")
	if err != nil {
		t.Fatal(err)
	}
	before := readKubeHostState(t)
	start := time.Now()
	c, err := kube.Start(context.Background(), kube.Options{Node: e.node, BinDir: binDir, Dir: dir})
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cluster logs:\n%s", c.LogTails(25))
		}
		if err := c.Close(); err != nil {
			t.Errorf("close cluster: %v", err)
		}
	})
	t.Logf("cluster up in %s (node %s at %s)", time.Since(start).Round(time.Millisecond), c.NodeName, c.NodeIP)
	k := &kubeEnv{env: e, c: c, front: fr}

	if err := c.CreateNamespace(kubeNamespace); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(kubePods(c.NodeName)); err != nil {
		t.Fatal(err)
	}
	for _, pod := range []string{"web", "probed"} {
		if err := c.WaitPodReady(kubeNamespace, pod, 60*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	web := k.containerID("web")
	probed := k.containerID("probed")

	for _, tc := range []struct {
		name string
		run  func(t *testing.T, k *kubeEnv, web string)
	}{
		{"exec-it", kubeExecTTY},
		{"exec", kubeExecPlain},
		{"exec-i-shell", kubeExecStdinShell},
		{"debug-it-target", kubeDebug},
		{"run-it-rm", kubeRun},
		{"cp", kubeCopy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &kubeEnv{env: &env{t: t, node: e.node, dir: e.dir, configPath: e.configPath, eventLog: e.eventLog}, c: c, front: fr}
			tc.run(t, k, web)
		})
	}
	t.Run("liveness-probe-on-tty", func(t *testing.T) {
		k := &kubeEnv{env: &env{t: t, node: e.node, dir: e.dir, configPath: e.configPath, eventLog: e.eventLog}, c: c, front: fr}
		kubeProbe(t, k, probed)
	})

	e.setAction("block")
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, k *kubeEnv, web string)
	}{
		{"block-exec-it", kubeBlockExecTTY},
		{"block-exec", kubeBlockExecPlain},
		{"block-run-it-rm", kubeBlockRun},
		{"block-debug-it", kubeBlockDebug},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &kubeEnv{env: &env{t: t, node: e.node, dir: e.dir, configPath: e.configPath, eventLog: e.eventLog}, c: c, front: fr}
			tc.run(t, k, web)
		})
	}
	// The probes went on through block mode without a failure.
	if n, err := c.Kubectl("-n", kubeNamespace, "get", "pod", "probed", "-o", "jsonpath={.status.containerStatuses[0].restartCount}"); err != nil || n != "0" {
		t.Errorf("probed pod restarts: %q, %v", n, err)
	}

	pids := c.PIDs()
	if len(pids) != 4 {
		t.Errorf("cluster processes %v, want etcd, kube-apiserver, kube-scheduler and kubelet", pids)
	}
	if err := c.Close(); err != nil {
		t.Errorf("close cluster: %v", err)
	}
	for name, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("%s (pid %d) still runs after Close", name, pid)
		}
	}
	if left := kubeLeftovers(t, dir, before); len(left) > 0 {
		t.Errorf("a closed cluster left:\n%s", strings.Join(left, "\n"))
	}
}

// containerID is the containerd id of a pod's first container.
func (k *kubeEnv) containerID(pod string) string {
	k.t.Helper()
	out, err := k.c.Kubectl("-n", kubeNamespace, "get", "pod", pod, "-o", "jsonpath={.status.containerStatuses[0].containerID}")
	if err != nil {
		k.t.Fatal(err)
	}
	id, ok := strings.CutPrefix(out, "containerd://")
	if !ok || id == "" {
		k.t.Fatalf("container id of pod %s: %q", pod, out)
	}
	return id
}

// session starts kubectl under a terminal; it is killed when the test ends.
func (k *kubeEnv) session(args ...string) *kube.Session {
	k.t.Helper()
	s, err := k.c.StartSession(90*time.Second, args...)
	if err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(s.Close)
	return s
}

// typeUntil types line until the output matches want: input typed before
// the remote terminal is attached can be lost, so it is typed again.
func typeUntil(t *testing.T, s *kube.Session, line string, want *regexp.Regexp) {
	t.Helper()
	var err error
	for range 6 {
		if err = s.Send(line + "\n"); err != nil {
			break
		}
		if err = s.Expect(want, 5*time.Second); err == nil {
			return
		}
	}
	t.Fatalf("typed %q: %v", line, err)
}

// endSession types exit and checks kubectl's exit status.
func endSession(t *testing.T, s *kube.Session, wantCode int) string {
	t.Helper()
	if err := s.Send("exit\n"); err != nil {
		t.Fatal(err)
	}
	out, err := s.Wait()
	if kube.ExitCode(err) != wantCode {
		t.Fatalf("kubectl exit %v, want status %d; output:\n%s", err, wantCode, out)
	}
	return out
}

var (
	promptOrHint = regexp.MustCompile(`# |If you don't see a command prompt`)
	computed     = regexp.MustCompile(`marker-42`)
)

// markerLine prints marker-42 only when the shell runs it; the echoed
// typing shows $((6*7)).
const markerLine = "echo marker-$((6*7))"

func kubeExecTTY(t *testing.T, k *kubeEnv, web string) {
	mark := k.mark()
	s := k.session("-n", kubeNamespace, "exec", "-it", "web", "-c", "app", "--", "sh")
	if err := s.Expect(promptOrHint, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	typeUntil(t, s, markerLine, computed)
	typeUntil(t, s, "tty", regexp.MustCompile(`/dev/pts/\d+`))
	endSession(t, s, 0)
	docs := k.since(mark)
	execs := filter(docs, "event", "exec", web)
	alerts := filter(docs, "alert", "exec", web)
	if len(execs) != 1 || len(alerts) != 1 {
		t.Fatalf("%d exec events and %d alerts, want 1 and 1: %v", len(execs), len(alerts), docs)
	}
	checkKubeExec(t, execs[0], true)
	check(t, "alert", alerts[0], []expectation{{"rule.id", ruleID}, {"process.args", []string{"sh"}}})
	checkRules(t, docs, web, true, true)
}

// checkKubeExec checks an exec event of the web pod's app container.
func checkKubeExec(t *testing.T, d doc, interactive bool) {
	t.Helper()
	checkCommon(t, "exec event", d)
	checkPod(t, "exec event", d, "web", kubeNamespace, "app")
	check(t, "exec event", d, []expectation{
		{"process.interactive", interactive},
		{"orchestrator.type", "kubernetes"},
		// The pod's own labels come from the NRI plugin's record.
		{"orchestrator.resource.label.app", "web"},
		{"orchestrator.resource.label.tier", "frontend"},
		{"execguard.exec_kind", "engine"},
	})
}

func kubeExecPlain(t *testing.T, k *kubeEnv, web string) {
	mark := k.mark()
	out, err := k.c.Kubectl("-n", kubeNamespace, "exec", "web", "-c", "app", "--", "id")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "uid=0(root)") {
		t.Errorf("kubectl exec id: %q", out)
	}
	docs := k.since(mark)
	execs := filter(docs, "event", "exec", web)
	if len(execs) != 1 {
		t.Fatalf("%d exec events, want 1: %v", len(execs), docs)
	}
	checkKubeExec(t, execs[0], false)
	check(t, "exec event", execs[0], []expectation{{"process.args", []string{"id"}}})
	if alerts := kinds(docs, "alert"); len(alerts) != 0 {
		t.Errorf("%d alerts for kubectl exec without a terminal: %v", len(alerts), alerts)
	}
	checkRules(t, docs, web, false, false)
}

func kubeExecStdinShell(t *testing.T, k *kubeEnv, web string) {
	mark := k.mark()
	out, err := k.c.KubectlStdin(strings.NewReader(markerLine+"\ntest -t 0 && echo tty || echo notty\n"),
		"-n", kubeNamespace, "exec", "-i", "web", "-c", "app", "--", "sh")
	if err != nil {
		t.Fatal(err)
	}
	if out != "marker-42\nnotty\n" {
		t.Errorf("kubectl exec -i sh printed %q", out)
	}
	docs := k.since(mark)
	execs := filter(docs, "event", "exec", web)
	if len(execs) != 1 {
		t.Fatalf("%d exec events, want 1: %v", len(execs), docs)
	}
	checkKubeExec(t, execs[0], false)
	check(t, "exec event", execs[0], []expectation{{"process.args", []string{"sh"}}})
	checkRules(t, docs, web, false, true)
}

func kubeDebug(t *testing.T, k *kubeEnv, _ string) {
	mark := k.mark()
	s := k.session("-n", kubeNamespace, "debug", "-it", "web", "-c", "debugger", "--image="+node.BusyboxImage,
		"--image-pull-policy=Never", "--target=app", "--profile=general", "--", "sh")
	if err := s.Expect(promptOrHint, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	typeUntil(t, s, markerLine, computed)
	// The target's processes are visible: process namespace targeting.
	typeUntil(t, s, "ps", regexp.MustCompile(`sleep 3600`))
	endSession(t, s, 0)
	starts := kubeContainerDocs(k.since(mark), "container-start", "web", "debugger")
	if len(starts["event"]) != 1 || len(starts["alert"]) != 1 {
		t.Fatalf("debug container: %d container-start events and %d alerts, want 1 and 1", len(starts["event"]), len(starts["alert"]))
	}
	d := starts["event"][0]
	checkCommon(t, "debug container start", d)
	check(t, "debug container start", d, []expectation{
		{"process.interactive", true},
		{"process.args", []string{"sh"}},
		{"orchestrator.namespace", kubeNamespace},
		{"orchestrator.resource.label.app", "web"},
	})
	// A container's first process is an exec entry leader, as Defend for
	// Containers records it: both forms of the rule take a shell there.
	checkRuleDoc(t, "debug container start", d, true, true)
}

func kubeRun(t *testing.T, k *kubeEnv, _ string) {
	mark := k.mark()
	s := k.session("-n", kubeNamespace, "run", "-it", "--rm", "tmp", "--image="+node.BusyboxImage,
		"--image-pull-policy=Never", "--restart=Never", `--overrides={"apiVersion":"v1","spec":{"hostNetwork":true,"terminationGracePeriodSeconds":0}}`,
		"--", "sh")
	if err := s.Expect(promptOrHint, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	typeUntil(t, s, markerLine, computed)
	out := endSession(t, s, 0)
	if !strings.Contains(out, `pod "tmp" deleted`) {
		t.Errorf("kubectl run --rm did not report the pod deleted:\n%s", out)
	}
	starts := kubeContainerDocs(k.since(mark), "container-start", "tmp", "tmp")
	if len(starts["event"]) != 1 || len(starts["alert"]) != 1 {
		t.Fatalf("kubectl run container: %d container-start events and %d alerts, want 1 and 1", len(starts["event"]), len(starts["alert"]))
	}
	d := starts["event"][0]
	checkCommon(t, "run container start", d)
	check(t, "run container start", d, []expectation{
		{"process.interactive", true},
		{"orchestrator.resource.label.run", "tmp"},
	})
	checkRuleDoc(t, "run container start", d, true, true)
}

func kubeCopy(t *testing.T, k *kubeEnv, web string) {
	src := filepath.Join(t.TempDir(), "payload.txt")
	if err := os.WriteFile(src, []byte("copied by kubectl cp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mark := k.mark()
	if _, err := k.c.Kubectl("-n", kubeNamespace, "cp", src, "web:/tmp/payload.txt", "-c", "app"); err != nil {
		t.Fatal(err)
	}
	docs := k.since(mark)
	if out, err := k.c.Kubectl("-n", kubeNamespace, "exec", "web", "-c", "app", "--", "cat", "/tmp/payload.txt"); err != nil || out != "copied by kubectl cp\n" {
		t.Errorf("file copied into the pod: %q, %v", out, err)
	}
	// kubectl cp asks whether the destination is a directory, then untars.
	execs := filter(docs, "event", "exec", web)
	want := [][]string{{"test", "-d", "/tmp/payload.txt"}, {"tar", "-xmf", "-", "-C", "/tmp"}}
	if len(execs) != len(want) {
		t.Fatalf("%d exec events for kubectl cp, want %d: %v", len(execs), len(want), docs)
	}
	for i, d := range execs {
		checkKubeExec(t, d, false)
		check(t, "cp exec", d, []expectation{{"process.args", want[i]}})
	}
	if alerts := kinds(docs, "alert"); len(alerts) != 0 {
		t.Errorf("%d alerts for kubectl cp: %v", len(alerts), alerts)
	}
}

// kubeProbe: the kubelet's exec probes on a container with a terminal are
// recorded as non-interactive execs and never alert.
func kubeProbe(t *testing.T, k *kubeEnv, probed string) {
	var execs []doc
	deadline := time.Now().Add(30 * time.Second)
	for {
		execs = filter(k.events(), "event", "exec", probed)
		if len(execs) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(execs) < 2 {
		t.Fatalf("%d probe exec events, want at least 2", len(execs))
	}
	for i, d := range execs {
		check(t, fmt.Sprintf("probe exec %d", i), d, []expectation{
			{"process.interactive", false},
			{"process.args", []string{"true"}},
			{"orchestrator.resource.name", "probed"},
			{"container.name", "console"},
		})
	}
	if alerts := filter(k.events(), "alert", "exec", probed); len(alerts) != 0 {
		t.Errorf("%d exec alerts for the probed container: %v", len(alerts), alerts)
	}
	// Its own start, a shell on a terminal, is an interactive entry leader.
	if alerts := filter(k.events(), "alert", "container-start", probed); len(alerts) != 1 {
		t.Errorf("%d container-start alerts for the container with a terminal, want 1", len(alerts))
	}
}

// blockedExec is the whole of what kubectl exec -it prints when the front
// refuses the exec: the wrapper's runc call fails at the exec's start, the
// shim refuses the Exec request itself.
var blockedExec = map[front]*regexp.Regexp{
	frontWrapper: regexp.MustCompile(`^error: Internal error occurred: Internal error occurred: error executing command in container: ` +
		`failed to exec in container: failed to start exec "[0-9a-f]{64}": OCI runtime exec failed: ` +
		`execguard: interactive exec into container "app" of pod demo/web blocked by policy$`),
	frontShim: regexp.MustCompile(`^error: Internal error occurred: Internal error occurred: error executing command in container: ` +
		`failed to exec in container: failed to create exec "[0-9a-f]{64}": ` +
		`execguard: interactive exec into container "app" of pod demo/web blocked by policy: permission denied$`),
}

// kubectlNoise is a line kubectl's client library logs on its own when the
// server closes the stream first (klog: E<date> <time> ... "Unhandled Error"
// err="websocket: close sent"); it comes and goes with timing, and is none
// of execguard's output.
var kubectlNoise = regexp.MustCompile(`^E\d{4} [0-9:.]+ +\d+ [^ ]+\] "Unhandled Error" err="websocket: close sent"`)

// withoutKubectlNoise is what kubectl printed, CRs and kubectlNoise lines
// dropped.
func withoutKubectlNoise(out string) string {
	var keep []string
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r", ""), "\n") {
		if !kubectlNoise.MatchString(strings.TrimSpace(l)) {
			keep = append(keep, l)
		}
	}
	return strings.TrimSpace(strings.Join(keep, "\n"))
}

func kubeBlockExecTTY(t *testing.T, k *kubeEnv, web string) {
	mark := k.mark()
	s := k.session("-n", kubeNamespace, "exec", "-it", "web", "-c", "app", "--", "sh", "-c", "touch /tmp/was-here")
	out, err := s.Wait()
	if kube.ExitCode(err) != 1 {
		t.Errorf("kubectl exit %v, want status 1", err)
	}
	if got := withoutKubectlNoise(out); !blockedExec[k.front].MatchString(got) {
		t.Errorf("kubectl printed:\n%s\nwant a line matching %s", got, blockedExec[k.front])
	}
	docs := k.since(mark)
	denied := filter(docs, "event", "exec", web)
	alerts := filter(docs, "alert", "exec", web)
	if len(denied) != 1 || len(alerts) != 1 {
		t.Fatalf("%d exec events and %d alerts, want 1 and 1: %v", len(denied), len(alerts), docs)
	}
	checkKubeExec(t, denied[0], true)
	check(t, "denied exec", denied[0], []expectation{
		{"event.type", []string{"denied"}},
		{"event.outcome", "failure"},
		{"execguard.action", "block"},
	})
	// A denied document is no longer a started process: neither rule matches.
	checkRules(t, docs, web, false, false)
	if _, err := k.c.Kubectl("-n", kubeNamespace, "exec", "web", "-c", "app", "--", "test", "!", "-e", "/tmp/was-here"); err != nil {
		t.Errorf("the refused session ran: %v", err)
	}
}

func kubeBlockExecPlain(t *testing.T, k *kubeEnv, web string) {
	mark := k.mark()
	out, err := k.c.Kubectl("-n", kubeNamespace, "exec", "web", "-c", "app", "--", "id")
	if err != nil || !strings.Contains(out, "uid=0(root)") {
		t.Fatalf("kubectl exec in block mode: %q, %v", out, err)
	}
	execs := filter(k.since(mark), "event", "exec", web)
	if len(execs) != 1 {
		t.Fatalf("%d exec events, want 1", len(execs))
	}
	check(t, "exec event", execs[0], []expectation{{"event.outcome", "success"}, {"process.interactive", false}})
}

func kubeBlockRun(t *testing.T, k *kubeEnv, _ string) {
	mark := k.mark()
	s := k.session("-n", kubeNamespace, "run", "-it", "--rm", "tmpb", "--image="+node.BusyboxImage,
		"--image-pull-policy=Never", "--restart=Never", "--pod-running-timeout=60s",
		`--overrides={"apiVersion":"v1","spec":{"hostNetwork":true,"terminationGracePeriodSeconds":0}}`, "--", "sh")
	out, err := s.Wait()
	if kube.ExitCode(err) != 128 {
		t.Errorf("kubectl exit %v, want status 128; output:\n%s", err, out)
	}
	want := `execguard: interactive container "tmpb" of pod demo/tmpb blocked by policy`
	if !strings.Contains(out, want) || !strings.Contains(out, `pod "tmpb" deleted`) {
		t.Errorf("kubectl printed:\n%s\nwant the pod deleted and %q", out, want)
	}
	starts := kubeContainerDocs(k.since(mark), "container-start", "tmpb", "tmpb")
	if len(starts["event"]) != 1 || len(starts["alert"]) != 1 {
		t.Fatalf("%d container-start events and %d alerts, want 1 and 1", len(starts["event"]), len(starts["alert"]))
	}
	check(t, "denied container start", starts["event"][0], []expectation{
		{"event.type", []string{"denied"}},
		{"process.interactive", true},
	})
}

// blockedDebug is the warning kubectl debug -it prints, once per status
// update, when the ephemeral container is refused (kubectl colours it on a
// terminal).
var blockedDebug = map[front]*regexp.Regexp{
	frontWrapper: regexp.MustCompile(`^\x1b\[33;1mWarning:\x1b\[0m container blocked-debugger: failed to create containerd task: ` +
		`failed to create shim task: OCI runtime create failed: execguard: interactive container "blocked-debugger" of pod demo/web blocked by policy$`),
	frontShim: regexp.MustCompile(`^\x1b\[33;1mWarning:\x1b\[0m container blocked-debugger: failed to create containerd task: ` +
		`failed to create shim task: execguard: interactive container "blocked-debugger" of pod demo/web blocked by policy: permission denied$`),
}

// kubeBlockDebug: a refused ephemeral container leaves kubectl debug -it
// waiting for it for ever (the pod's restartPolicy Always keeps the
// container's state waiting, and kubectl has no timeout for it), with the
// reason shown as a warning; an interrupt ends it.
func kubeBlockDebug(t *testing.T, k *kubeEnv, _ string) {
	mark := k.mark()
	s := k.session("-n", kubeNamespace, "debug", "-it", "web", "-c", "blocked-debugger", "--image="+node.BusyboxImage,
		"--image-pull-policy=Never", "--target=app", "--profile=general", "--", "sh")
	if err := s.Expect(regexp.MustCompile(`blocked by policy(: permission denied)?\r?\n`), 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.Send("\x03"); err != nil { // Ctrl-C on the terminal
		t.Fatal(err)
	}
	out, err := s.Wait()
	if kube.ExitCode(err) != 130 {
		t.Errorf("kubectl exit %v, want status 130 (interrupted)", err)
	}
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(out, "\r", "")), "\n")
	if len(lines) < 3 || lines[0] != `Targeting container "app". If you don't see processes from this container it may be because the container runtime doesn't support this feature.` ||
		lines[len(lines)-1] != "^C" {
		t.Fatalf("kubectl printed:\n%s", out)
	}
	for _, l := range lines[1 : len(lines)-1] {
		if !blockedDebug[k.front].MatchString(l) {
			t.Errorf("kubectl printed %q, want lines matching %s", l, blockedDebug[k.front])
		}
	}
	starts := kubeContainerDocs(k.since(mark), "container-start", "web", "blocked-debugger")
	if len(starts["event"]) != 1 || len(starts["alert"]) != 1 {
		t.Fatalf("%d container-start events and %d alerts, want 1 and 1", len(starts["event"]), len(starts["alert"]))
	}
	check(t, "denied debug container start", starts["event"][0], []expectation{
		{"event.type", []string{"denied"}},
		{"process.interactive", true},
		{"execguard.reason", `execguard: interactive container "blocked-debugger" of pod demo/web blocked by policy`},
	})
}

// kubeContainerDocs groups by event.kind the documents of one action for a
// named container of a pod (ids of kubectl-made containers are not known
// beforehand).
func kubeContainerDocs(docs []doc, action, pod, container string) map[string][]doc {
	out := map[string][]doc{}
	for _, d := range docs {
		// The pod's sandbox is named after the pod: its container_type tells it apart.
		if actionOf(d) == action && d.str("orchestrator.resource.name") == pod && d.str("container.name") == container &&
			d.str("execguard.container_type") == "container" {
			out[d.str("event.kind")] = append(out[d.str("event.kind")], d)
		}
	}
	return out
}

// checkRuleDoc asserts whether each version of the rule matches d.
func checkRuleDoc(t *testing.T, what string, d doc, want2023, want2026 bool) {
	t.Helper()
	for _, r := range []struct {
		name  string
		query string
		want  bool
	}{{"2023", detect.RuleQuery2023, want2023}, {"2026", detect.RuleQuery2026, want2026}} {
		q, err := eql.Compile(r.query)
		if err != nil {
			t.Fatalf("rule %s: %v", r.name, err)
		}
		if got := q.Match(map[string]any(d)); got != r.want {
			t.Errorf("%s: rule %s matches = %v, want %v", what, r.name, got, r.want)
		}
	}
}

// kubeHostState is what a cluster must leave as it found it on the host.
type kubeHostState struct {
	sysctls map[string]string
	dirs    map[string]bool // the kubelet's hard-coded directories: present?
}

func readKubeHostState(t *testing.T) kubeHostState {
	t.Helper()
	s := kubeHostState{sysctls: map[string]string{}, dirs: map[string]bool{}}
	for _, f := range []string{"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
		"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes"} {
		b, err := os.ReadFile("/proc/sys/" + f)
		if err != nil {
			t.Fatal(err)
		}
		s.sysctls[f] = strings.TrimSpace(string(b))
	}
	for _, d := range []string{"/var/lib/kubelet", "/var/log/containers"} {
		_, err := os.Stat(d)
		s.dirs[d] = err == nil
	}
	return s
}

// kubeLeftovers lists what a closed cluster in dir left behind: a process
// naming dir on its command line, a mount under dir, a cgroup of its
// kubelet, the directory itself, a changed sysctl or hard-coded directory.
func kubeLeftovers(t *testing.T, dir string, before kubeHostState) []string {
	t.Helper()
	var left []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), dir) {
			left = append(left, "process "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, dir) {
				left = append(left, "mount "+line)
			}
		}
	}
	cg, _ := filepath.Glob("/sys/fs/cgroup/*" + kube.CgroupRoot(dir))
	cg2, _ := filepath.Glob("/sys/fs/cgroup" + kube.CgroupRoot(dir))
	for _, d := range append(cg, cg2...) {
		left = append(left, "cgroup "+d)
	}
	if _, err := os.Stat(dir); err == nil {
		left = append(left, "directory "+dir)
	}
	after := readKubeHostState(t)
	for k, v := range before.sysctls {
		if after.sysctls[k] != v {
			left = append(left, fmt.Sprintf("sysctl %s = %s, was %s", k, after.sysctls[k], v))
		}
	}
	for d, was := range before.dirs {
		if after.dirs[d] != was {
			left = append(left, fmt.Sprintf("%s present %v, was %v", d, after.dirs[d], was))
		}
	}
	return left
}

// TestKubernetesStartFailure: a kubelet that cannot start fails the
// cluster's start with an error naming it and showing its log, and what did
// start (etcd, apiserver, scheduler) is gone afterwards.
func TestKubernetesStartFailure(t *testing.T) {
	binDir := os.Getenv(kube.BinDirEnv)
	if binDir == "" {
		binDir = kube.DefaultBinDir
	}
	if _, err := kube.FindBinaries(binDir); err != nil {
		t.Fatalf("e2e prerequisites missing: %v", err)
	}
	e := newEnv(t, "alert")
	fake := filepath.Join(t.TempDir(), "bin")
	if err := os.MkdirAll(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-scheduler", "kubectl"} {
		if err := os.Symlink(filepath.Join(binDir, b), filepath.Join(fake, b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(fake, "kubelet"), []byte("#!/bin/sh\necho 'kubelet: no way to start' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "egkube-")
	if err != nil {
		t.Fatal(err)
	}
	before := readKubeHostState(t)
	c, err := kube.Start(context.Background(), kube.Options{Node: e.node, BinDir: fake, Dir: dir})
	if err == nil {
		_ = c.Close()
		t.Fatal("the cluster started with a kubelet that exits")
	}
	for _, want := range []string{"kubelet exited", "kubelet log tail", "kubelet: no way to start"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start error lacks %q:\n%v", want, err)
		}
	}
	if left := kubeLeftovers(t, dir, before); len(left) > 0 {
		t.Errorf("a failed start left:\n%s", strings.Join(left, "\n"))
	}
}
