//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/execguard/execguard/test/kube"
	"github.com/execguard/execguard/test/node"
)

// blockExceptSRE is "block interactive execs except for group sre" as one
// rule. At the API the webhook knows the group; at the runtime nobody's
// group is known, so the runtime blocks every interactive exec that reaches
// it, sre's included, and everything that bypassed the API.
const blockExceptSRE = `process:
  selectors:
    - name: all
      operation: [exec, containerStart]
    - name: interactive
      operation: [exec, containerStart]
      sessionLeaderInteractive: true
    - name: sre
      kubernetesGroup: [sre]
  responses:
    - match: [all]
      actions: [log]
    - match: [interactive]
      exclude: [sre]
      actions: [alert, block]
`

// blockAtAPIExceptSRE blocks at the API only (its blocking selector holds
// only where the requester is known) and has the runtime alert: sre's
// sessions go through, and what bypasses the API is recorded and alerted on.
const blockAtAPIExceptSRE = `process:
  selectors:
    - name: all
      operation: [exec, containerStart]
    - name: interactive
      operation: [exec, containerStart]
      sessionLeaderInteractive: true
    - name: interactiveViaAPI
      operation: [exec, containerStart]
      sessionLeaderInteractive: true
      kubernetesUser: ["*"]
    - name: sre
      kubernetesGroup: [sre]
  responses:
    - match: [all]
      actions: [log]
    - match: [interactiveViaAPI]
      exclude: [sre]
      actions: [alert, block]
    - match: [interactive]
      actions: [alert]
`

// webhookRBAC lets the groups dev and sre exec, attach and debug in the
// demo namespace.
const webhookRBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: shell
  namespace: demo
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]
- apiGroups: [""]
  resources: [pods/exec, pods/attach]
  verbs: [get, create]
- apiGroups: [""]
  resources: [pods/ephemeralcontainers]
  verbs: [get, patch, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: shell
  namespace: demo
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: shell}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: dev}
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: sre}
`

func webhookPod(nodeName string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: %[1]s
  labels: {app: web}
spec:
  nodeName: %[2]s
  hostNetwork: true
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: %[3]s
    imagePullPolicy: Never
    command: [sleep, "3600"]
`, kubeNamespace, nodeName, node.BusyboxImage)
}

// webhookConfiguration registers the webhook at url, as the manifests of
// install/kubernetes/webhook do through a Service.
func webhookConfiguration(url, caBundle, failurePolicy string) string {
	return fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: execguard-webhook
webhooks:
- name: exec.execguard.io
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: %s
  timeoutSeconds: 5
  clientConfig:
    url: %s
    caBundle: %s
  rules:
  - {apiGroups: [""], apiVersions: [v1], operations: [CONNECT], resources: [pods/exec, pods/attach], scope: Namespaced}
  - {apiGroups: [""], apiVersions: [v1], operations: [UPDATE], resources: [pods/ephemeralcontainers], scope: Namespaced}
`, failurePolicy, url, caBundle)
}

// hookProcess is execguard webhook running on the host, as the apiserver's
// webhook by URL.
type hookProcess struct {
	t         *testing.T
	bin       string
	args      []string
	url       string
	caBundle  string
	pool      *x509.CertPool
	eventLog  string
	cmd       *exec.Cmd
	exited    chan error
	logFile   string
	listening string
}

func startWebhook(t *testing.T, bin, dir, policyPath string) *hookProcess {
	t.Helper()
	certs := filepath.Join(dir, "webhook-certs")
	out, err := exec.Command(bin, "webhook", "certs", "--ip", "127.0.0.1", "--out", certs).CombinedOutput()
	if err != nil {
		t.Fatalf("execguard webhook certs: %v\n%s", err, out)
	}
	ca, err := os.ReadFile(filepath.Join(certs, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	h := &hookProcess{
		t: t, bin: bin, url: "https://" + addr + "/validate", caBundle: strings.TrimSpace(string(out)), pool: pool,
		eventLog: filepath.Join(dir, "webhook-events.ndjson"), logFile: filepath.Join(dir, "webhook.log"), listening: addr,
	}
	h.args = []string{"webhook", "--listen", addr, "--tls-cert", filepath.Join(certs, "tls.crt"),
		"--tls-key", filepath.Join(certs, "tls.key"), "--policy", policyPath, "--event-log", h.eventLog,
		"--cluster-name", "e2e", "--log-level", "debug"}
	h.start()
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			if b, err := os.ReadFile(h.logFile); err == nil {
				t.Logf("webhook log:\n%s", tail(string(b), 30))
			}
		}
	})
	return h
}

func (h *hookProcess) start() {
	h.t.Helper()
	logf, err := os.OpenFile(h.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		h.t.Fatal(err)
	}
	defer logf.Close()
	h.cmd = exec.Command(h.bin, h.args...)
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	if err := h.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, ch chan error) { ch <- cmd.Wait() }(h.cmd, h.exited)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: h.pool}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("https://" + h.listening + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-h.exited:
			h.t.Fatalf("webhook exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("webhook not healthy within 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the webhook with SIGTERM; it must exit cleanly.
func (h *hookProcess) stop() {
	if h.cmd == nil {
		return
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-h.exited:
		if err != nil {
			h.t.Errorf("webhook exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.exited
		h.t.Error("webhook did not stop on SIGTERM")
	}
	h.cmd = nil
}

// decisions reads the webhook's event log.
func (h *hookProcess) decisions() []doc {
	h.t.Helper()
	b, err := os.ReadFile(h.eventLog)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	var docs []doc
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var d doc
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			h.t.Fatalf("webhook event %q: %v", sc.Text(), err)
		}
		docs = append(docs, d)
	}
	return docs
}

// webhookKube is the cluster, the node and the webhook of one test.
type webhookKube struct {
	pe         *policyEnv
	c          *kube.Cluster
	hook       *hookProcess
	alice, bob string // kubeconfigs: alice is in group dev, bob in sre
	web        string // the web pod's container id
	bin        string // execguard
	// receivedAudit is what execguard audit serve received from the
	// apiserver's audit webhook backend.
	receivedAudit string
}

// auditReceiver is execguard audit serve, the apiserver's audit webhook
// backend.
type auditReceiver struct {
	out, kubeconfig string
}

func startAuditReceiver(t *testing.T, bin, dir string) auditReceiver {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := auditReceiver{out: filepath.Join(dir, "audit-received.ndjson"), kubeconfig: filepath.Join(dir, "audit-webhook.kubeconfig")}
	kc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: audit\n  cluster:\n    server: http://%s/\ncontexts:\n- name: audit\n  context:\n    cluster: audit\ncurrent-context: audit\n", addr)
	if err := os.WriteFile(r.kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "audit-receiver.log")
	logf, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(logFile); err == nil {
				t.Logf("audit receiver log:\n%s", tail(string(b), 20))
			}
		}
	})
	cmd := exec.Command(bin, "audit", "serve", "--listen", addr, "--out", r.out, "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = logf, logf
	startDaemon(t, cmd, "audit receiver", 15*time.Second)
	for i := 0; ; i++ {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			return r
		}
		if i == 100 {
			t.Fatalf("audit receiver not listening on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func newWebhookKube(t *testing.T, fr front) *webhookKube {
	binDir := os.Getenv(kube.BinDirEnv)
	if binDir == "" {
		binDir = kube.DefaultBinDir
	}
	if _, err := kube.FindBinaries(binDir); err != nil {
		t.Fatalf("e2e prerequisites missing: %v", err)
	}
	pe := newPolicyFrontEnv(t, "open", blockExceptSRE, fr)
	dir, err := os.MkdirTemp("", "egkube-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(pe.dir, "bin", "execguard")
	receiver := startAuditReceiver(t, bin, pe.dir)
	c, err := kube.Start(context.Background(), kube.Options{Node: pe.node, BinDir: binDir, Dir: dir, AuditLog: true,
		APIServerArgs: []string{"--audit-webhook-config-file", receiver.kubeconfig, "--audit-webhook-mode", "blocking"}})
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
	w := &webhookKube{pe: pe, c: c, bin: bin, receivedAudit: receiver.out}
	if err := c.CreateNamespace(kubeNamespace); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{webhookRBAC, webhookPod(c.NodeName)} {
		if err := c.Apply(m); err != nil {
			t.Fatal(err)
		}
	}
	if w.alice, err = c.AddUser("alice", "dev"); err != nil {
		t.Fatal(err)
	}
	if w.bob, err = c.AddUser("bob", "sre"); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitPodReady(kubeNamespace, "web", 60*time.Second); err != nil {
		t.Fatal(err)
	}
	k := &kubeEnv{env: pe.env, c: c, front: fr}
	w.web = k.containerID("web")
	w.hook = startWebhook(t, bin, pe.dir, pe.policyPath)
	w.configure(t, "Ignore")
	return w
}

// configure applies the webhook configuration and waits until the
// apiserver calls the webhook: its informer picks the change up shortly
// after the write.
func (w *webhookKube) configure(t *testing.T, failurePolicy string) {
	t.Helper()
	if err := w.c.Apply(webhookConfiguration(w.hook.url, w.hook.caBundle, failurePolicy)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := len(w.hook.decisions())
		// A plain exec is allowed by every policy here and decided by the webhook.
		if _, err := w.c.Kubectl("--kubeconfig", w.alice, "-n", kubeNamespace, "exec", "web", "-c", "app", "--", "true"); err != nil {
			t.Fatalf("probe exec: %v", err)
		}
		if len(w.hook.decisions()) > n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the apiserver did not call the webhook within 30s of its configuration")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// execTTY runs kubectl exec -it as the user of kubeconfig, typing a marker
// line when a prompt comes, and returns kubectl's output and exit status.
func (w *webhookKube) execTTY(t *testing.T, kubeconfig string) (string, int) {
	t.Helper()
	s, err := w.c.StartSession(90*time.Second, "--kubeconfig", kubeconfig, "-n", kubeNamespace, "exec", "-it", "web", "-c", "app", "--", "sh")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Expect(regexp.MustCompile(`# |If you don't see a command prompt|error|Error`), 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.Output(), "rror") {
		out, err := s.Wait()
		return out, kube.ExitCode(err)
	}
	typeUntil(t, s, markerLine, computed)
	if err := s.Send("exit\n"); err != nil {
		t.Fatal(err)
	}
	out, err := s.Wait()
	return out, kube.ExitCode(err)
}

// lastDecision is the webhook's last decision after mark, for user.
func lastDecision(t *testing.T, docs []doc, user string) doc {
	t.Helper()
	for i := len(docs) - 1; i >= 0; i-- {
		if docs[i].str("user.name") == user {
			return docs[i]
		}
	}
	t.Fatalf("no webhook decision for %s in %v", user, docs)
	return nil
}

const (
	webhookRefusal = `admission webhook "exec.execguard.io" denied the request: execguard: interactive exec into container "app" of pod demo/web blocked by policy (selector interactive)`
	runtimeRefusal = `execguard: interactive exec into container "app" of pod demo/web blocked by policy (selector interactive)`
)

// TestKubernetesWebhook runs execguard's admission webhook in front of a
// real apiserver, with two users holding client certificates: alice
// (group dev) and bob (group sre). The policy blocks interactive execs
// except for group sre: the webhook refuses alice's and allows bob's, and
// kubectl shows the webhook's reason; the runtime, where nobody's group is
// known, refuses what reaches it, including crictl exec -it on the node,
// which never passed the API. With the blocking scoped to the API, bob's
// session goes through. Then the webhook is stopped: with failurePolicy
// Ignore kubectl exec goes on and only the runtime decides, with Fail the
// apiserver refuses it.
func TestKubernetesWebhook(t *testing.T) {
	for _, f := range kubeFronts() {
		t.Run(f.name, func(t *testing.T) { webhookSuite(t, f.front) })
	}
}

func webhookSuite(t *testing.T, fr front) {
	w := newWebhookKube(t, fr)

	t.Run("alice refused by the webhook", func(t *testing.T) {
		mark, hookMark := w.pe.mark(), len(w.hook.decisions())
		out, code := w.execTTY(t, w.alice)
		t.Logf("kubectl (exit %d):\n%s", code, out)
		if code == 0 || !strings.Contains(out, webhookRefusal) {
			t.Fatalf("kubectl exit %d, output does not show the webhook's refusal %q:\n%s", code, webhookRefusal, out)
		}
		d := lastDecision(t, w.hook.decisions()[hookMark:], "alice")
		check(t, "webhook decision", d, []expectation{
			{"event.type", []string{"denied"}}, {"event.outcome", "failure"}, {"event.action", "exec"},
			{"user.group.name", []string{"dev", "system:authenticated"}}, {"execguard.action", "block"},
			{"process.args", []string{"sh"}}, {"process.interactive", true}, {"container.name", "app"},
			{"orchestrator.namespace", kubeNamespace}, {"orchestrator.resource.name", "web"},
		})
		if execs := filter(w.pe.since(mark), "event", "exec", w.web); len(execs) != 0 {
			t.Errorf("a refused request reached the runtime: %v", execs)
		}
	})

	t.Run("bob allowed by the webhook, refused by the runtime", func(t *testing.T) {
		mark, hookMark := w.pe.mark(), len(w.hook.decisions())
		out, code := w.execTTY(t, w.bob)
		t.Logf("kubectl (exit %d):\n%s", code, out)
		if code == 0 || !strings.Contains(out, runtimeRefusal) || strings.Contains(out, "admission webhook") {
			t.Fatalf("kubectl exit %d, want the runtime's refusal %q:\n%s", code, runtimeRefusal, out)
		}
		d := lastDecision(t, w.hook.decisions()[hookMark:], "bob")
		check(t, "webhook decision", d, []expectation{
			{"event.type", []string{"allowed"}}, {"event.outcome", "success"}, {"user.group.name", []string{"sre", "system:authenticated"}},
			{"cloud_defend.matched_selectors", []string{"all", "interactive", "sre"}},
		})
		execs := filter(w.pe.since(mark), "event", "exec", w.web)
		if len(execs) != 1 {
			t.Fatalf("%d runtime exec events, want 1", len(execs))
		}
		check(t, "runtime event", execs[0], []expectation{{"event.type", []string{"denied"}}, {"process.interactive", true}})
	})

	t.Run("alice's debug container refused by the webhook", func(t *testing.T) {
		hookMark := len(w.hook.decisions())
		s, err := w.c.StartSession(90*time.Second, "--kubeconfig", w.alice, "-n", kubeNamespace, "debug", "-it", "web", "-c", "debugger",
			"--image="+node.BusyboxImage, "--image-pull-policy=Never", "--target=app", "--", "sh")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out, err := s.Wait()
		t.Logf("kubectl (%v):\n%s", err, out)
		want := `admission webhook "exec.execguard.io" denied the request: execguard: interactive container "debugger" of pod demo/web blocked by policy (selector interactive)`
		if kube.ExitCode(err) == 0 || !strings.Contains(out, want) {
			t.Fatalf("kubectl debug -it: %v, want the webhook's refusal %q:\n%s", err, want, out)
		}
		d := lastDecision(t, w.hook.decisions()[hookMark:], "alice")
		check(t, "webhook decision", d, []expectation{
			{"event.type", []string{"denied"}}, {"event.action", "container-start"}, {"container.name", "debugger"},
			{"execguard.subresource", "ephemeralcontainers"}, {"orchestrator.resource.label.app", "web"},
		})
		if n, err := w.c.Kubectl("-n", kubeNamespace, "get", "pod", "web", "-o", "jsonpath={.spec.ephemeralContainers[*].name}"); err != nil || n != "" {
			t.Errorf("ephemeral containers after the refusal: %q %v", n, err)
		}
	})

	t.Run("plain execs allowed for both", func(t *testing.T) {
		for _, kc := range []string{w.alice, w.bob} {
			if out, err := w.c.Kubectl("--kubeconfig", kc, "-n", kubeNamespace, "exec", "web", "-c", "app", "--", "id"); err != nil || !strings.Contains(out, "uid=0") {
				t.Errorf("kubectl exec id: %q %v", out, err)
			}
		}
	})

	t.Run("crictl exec -it on the node refused by the runtime", func(t *testing.T) {
		refused, out := w.pe.execTTY(w.web, "bypass-1")
		if !refused || !strings.Contains(out, runtimeRefusal) {
			t.Errorf("crictl exec -it not refused by the runtime:\n%s", out)
		}
	})

	t.Run("blocking scoped to the API: bob's session runs", func(t *testing.T) {
		w.pe.writePolicy(blockAtAPIExceptSRE)
		defer w.pe.writePolicy(blockExceptSRE)
		out, code := w.execTTY(t, w.bob)
		if code != 0 || !strings.Contains(out, "marker-42") {
			t.Errorf("bob's kubectl exec -it: exit %d\n%s", code, out)
		}
		out, code = w.execTTY(t, w.alice)
		if code == 0 || !strings.Contains(out, `denied the request: execguard: interactive exec into container "app" of pod demo/web blocked by policy (selector interactiveViaAPI)`) {
			t.Errorf("alice's kubectl exec -it: exit %d\n%s", code, out)
		}
		// bob's debug container runs too; the join names him on its start.
		s, err := w.c.StartSession(90*time.Second, "--kubeconfig", w.bob, "-n", kubeNamespace, "debug", "-it", "web", "-c", "dbg-bob",
			"--image="+node.BusyboxImage, "--image-pull-policy=Never", "--target=app", "--profile=general", "--", "sh")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Expect(promptOrHint, 60*time.Second); err != nil {
			t.Fatal(err)
		}
		typeUntil(t, s, markerLine, computed)
		endSession(t, s, 0)
		// Bypassing the API is now alerted on, not refused.
		mark := w.pe.mark()
		if refused, out := w.pe.execTTY(w.web, "bypass-2"); refused {
			t.Errorf("crictl exec -it refused under the API-scoped policy:\n%s", out)
		}
		if alerts := filter(w.pe.since(mark), "alert", "exec", w.web); len(alerts) == 0 {
			t.Error("crictl exec -it was not alerted on")
		}
	})

	t.Run("audit join names the user of each exec", func(t *testing.T) { w.auditJoin(t) })

	t.Run("webhook down, failurePolicy Ignore: fail open", func(t *testing.T) {
		w.hook.stop()
		defer w.hook.start()
		if out, err := w.c.Kubectl("--kubeconfig", w.alice, "-n", kubeNamespace, "exec", "web", "-c", "app", "--", "id"); err != nil || !strings.Contains(out, "uid=0") {
			t.Errorf("kubectl exec with the webhook down: %q %v", out, err)
		}
		// Only the runtime decides now: alice's terminal is refused there.
		out, code := w.execTTY(t, w.alice)
		if code == 0 || !strings.Contains(out, runtimeRefusal) {
			t.Errorf("alice's kubectl exec -it with the webhook down: exit %d\n%s", code, out)
		}
	})

	t.Run("webhook down, failurePolicy Fail: fail closed", func(t *testing.T) {
		w.configure(t, "Fail")
		defer w.configure(t, "Ignore")
		w.hook.stop()
		defer w.hook.start()
		var out string
		var err error
		// The apiserver's informer has the new configuration; a call fails
		// once the webhook's port refuses connections.
		for range 50 {
			out, err = w.c.Kubectl("--kubeconfig", w.bob, "-n", kubeNamespace, "exec", "web", "-c", "app", "--", "id")
			if err != nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("kubectl: %v", err)
		if err == nil || !strings.Contains(err.Error(), `failed calling webhook "exec.execguard.io"`) {
			t.Errorf("kubectl exec with the webhook down and failurePolicy Fail: %q %v", out, err)
		}
	})
}

// joinVerdict is what execguard audit join said of one runtime exec event.
type joinVerdict struct {
	match, user string
	candidates  []string // users, for an ambiguous match
}

// joinLog runs execguard audit join and returns its verdict per runtime
// exec event (by process.entity_id) and the enriched log's path.
func (w *webhookKube) joinLog(t *testing.T, auditLog, name string) (map[string]joinVerdict, string) {
	t.Helper()
	out := filepath.Join(w.pe.dir, name)
	// The apiserver and the node share this machine's clock: no skew to
	// allow for. The default (1s) would make execs of one command less
	// than a second apart ambiguous, as the configuration probes are.
	cmd := exec.Command(w.bin, "audit", "join", "--audit-log", auditLog, "--events", w.pe.eventLog, "--out", out, "--skew", "0")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("execguard audit join: %v\n%s", err, b)
	}
	t.Logf("audit join (%s): %s", filepath.Base(auditLog), strings.TrimSpace(string(b)))
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]joinVerdict{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var d doc
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("enriched line %q: %v", line, err)
		}
		if d.str("event.kind") != "event" || d.str("event.action") != "exec" {
			continue
		}
		v := joinVerdict{match: d.str("execguard.audit.match"), user: d.str("user.name")}
		if cs, ok := d.get("execguard.audit.candidates"); ok {
			for _, c := range cs.([]any) {
				v.candidates = append(v.candidates, c.(map[string]any)["user"].(string))
			}
		}
		got[d.str("process.entity_id")] = v
	}
	return got, out
}

// auditJoin runs execs of known users, sequential and concurrent, and a
// bypass on the node, then checks what the join says of each: the right
// user, or ambiguous; never another user.
func (w *webhookKube) auditJoin(t *testing.T) {
	mark := w.pe.mark()
	execAs := func(kc string, stdin string, args ...string) {
		t.Helper()
		argv := append([]string{"--kubeconfig", kc, "-n", kubeNamespace, "exec"}, args...)
		var err error
		if stdin != "" {
			_, err = w.c.KubectlStdin(strings.NewReader(stdin), argv...)
		} else {
			_, err = w.c.Kubectl(argv...)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	type expect struct {
		args  string // process.args joined by spaces
		tty   bool
		users []string // one: attributed to it; two: ambiguous between them; none: no request
	}
	var want []expect
	execAs(w.alice, "", "web", "-c", "app", "--", "echo", "join-1")
	want = append(want, expect{"echo join-1", false, []string{"alice"}})
	execAs(w.bob, "", "web", "-c", "app", "--", "echo", "join-2")
	want = append(want, expect{"echo join-2", false, []string{"bob"}})
	execAs(w.alice, "echo join-3\n", "-i", "web", "-c", "app", "--", "sh")
	want = append(want, expect{"sh", false, []string{"alice"}})
	// Admitted by the webhook, refused on the node: still bob's.
	if out, code := w.execTTY(t, w.bob); code == 0 {
		t.Fatalf("bob's exec -it ran under the strict policy:\n%s", out)
	}
	want = append(want, expect{"sh", true, []string{"bob"}})
	// Refused by the webhook: no runtime event, and the request must not
	// capture another.
	if _, code := w.execTTY(t, w.alice); code == 0 {
		t.Fatal("alice's exec -it was not refused")
	}
	if _, err := w.pe.node.Exec(w.web, "echo", "join-bypass"); err != nil {
		t.Fatal(err)
	}
	want = append(want, expect{"echo join-bypass", false, nil})
	// Two people run the same command at once.
	errs := make(chan error, 2)
	for _, kc := range []string{w.alice, w.bob} {
		go func(kc string) {
			_, err := w.c.Kubectl("--kubeconfig", kc, "-n", kubeNamespace, "exec", "web", "-c", "app", "--", "sleep", "2")
			errs <- err
		}(kc)
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	want = append(want, expect{"sleep 2", false, []string{"alice", "bob"}}, expect{"sleep 2", false, []string{"alice", "bob"}})
	execAs(w.bob, "", "web", "-c", "app", "--", "echo", "join-4")
	want = append(want, expect{"echo join-4", false, []string{"bob"}})

	var runtime []doc
	for _, d := range w.pe.since(mark) {
		if d.str("event.kind") == "event" && d.str("event.action") == "exec" && d.str("container.id") == w.web {
			runtime = append(runtime, d)
		}
	}
	if len(runtime) != len(want) {
		t.Fatalf("%d runtime exec events, want %d: %v", len(runtime), len(want), runtime)
	}
	var verdicts []map[string]joinVerdict
	var enrichedFile string
	for _, src := range []struct{ log, name string }{{w.c.AuditLog, "joined-file.ndjson"}, {w.receivedAudit, "joined-webhook.ndjson"}} {
		v, f := w.joinLog(t, src.log, src.name)
		verdicts = append(verdicts, v)
		if enrichedFile == "" {
			enrichedFile = f
		}
	}
	attributed, ambiguous, misattributed := 0, 0, 0
	used := map[int]bool{}
	for _, d := range runtime {
		args := strings.Join(d.strs("process.args"), " ")
		tty, _ := d.get("process.interactive")
		i := -1
		for j, e := range want {
			if !used[j] && e.args == args && e.tty == (tty == true) {
				i = j
				break
			}
		}
		if i < 0 {
			t.Fatalf("unexpected runtime exec %s (tty %v)", args, tty)
		}
		used[i] = true
		e := want[i]
		for k, vs := range verdicts {
			v, ok := vs[d.str("process.entity_id")]
			if !ok {
				t.Fatalf("join %d: no verdict for %s", k, args)
			}
			switch {
			case len(e.users) == 0:
				if v.match != "none" {
					t.Errorf("join %d: the bypass %q was matched: %+v", k, args, v)
				}
			case v.match == "unique":
				if len(e.users) != 1 || v.user != e.users[0] {
					misattributed++
					t.Errorf("join %d: %q attributed to %s, want %v", k, args, v.user, e.users)
				} else if k == 0 {
					attributed++
				}
			case v.match == "ambiguous":
				for _, u := range v.candidates {
					if !slices.Contains(e.users, u) {
						t.Errorf("join %d: %q ambiguous between %v, which names %s", k, args, v.candidates, u)
					}
				}
				if k == 0 {
					ambiguous++
				}
			default:
				t.Errorf("join %d: %q not matched (%+v), want %v", k, args, v, e.users)
			}
			if len(e.users) == 1 && v.match != "unique" {
				t.Errorf("join %d: %q sequential and unique, but the join says %+v", k, args, v)
			}
		}
	}
	t.Logf("kubectl execs: %d attributed, %d ambiguous, %d misattributed (of %d); 1 bypass unmatched", attributed, ambiguous, misattributed, len(want)-1)

	// bob's debug container's start (in the API-scoped subtest) is his.
	debugStarts := 0
	for _, line := range strings.Split(strings.TrimSpace(string(mustRead(t, enrichedFile))), "\n") {
		var d doc
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatal(err)
		}
		if d.str("event.kind") == "event" && actionOf(d) == "container-start" && d.str("container.name") == "dbg-bob" {
			debugStarts++
			if d.str("user.name") != "bob" || d.str("execguard.audit.match") != "unique" {
				t.Errorf("bob's debug container start joined as %q (%s)", d.str("user.name"), d.str("execguard.audit.match"))
			}
		}
	}
	if debugStarts != 1 {
		t.Errorf("%d starts of bob's debug container in the joined log, want 1", debugStarts)
	}

	// The apiserver wrote the webhook's audit annotations into its audit
	// events: the audit log says what execguard decided.
	auditData, err := os.ReadFile(w.c.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	decided := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(auditData)), "\n") {
		var ev struct {
			Annotations map[string]string `json:"annotations"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit log line %q: %v", line, err)
		}
		if d := ev.Annotations["exec.execguard.io/decision"]; d != "" {
			decided[d] = true
			if ev.Annotations["exec.execguard.io/policy-revision"] == "" {
				t.Errorf("audit event with a decision but no policy revision: %s", line)
			}
		}
	}
	if !decided["block"] || !decided["log"] {
		t.Errorf("decisions in the audit log's annotations: %v, want block and log among them", decided)
	}

	// execguard events shows the user.
	_, enriched := w.joinLog(t, w.c.AuditLog, "joined-events.ndjson")
	out, err := exec.Command(w.bin, "events", "--color", "never", enriched).CombinedOutput()
	if err != nil {
		t.Fatalf("execguard events: %v\n%s", err, out)
	}
	var shown bool
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "command=\"echo join-2\"") {
			shown = strings.Contains(line, "k8s_user=bob")
			t.Logf("execguard events: %s", line)
		}
	}
	if !shown {
		t.Errorf("execguard events does not show bob on his exec:\n%s", out)
	}
}

func mustRead(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
