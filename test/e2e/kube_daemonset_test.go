//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/execguard/execguard/install/containerd"
	"github.com/execguard/execguard/install/kubernetes"
	"github.com/execguard/execguard/plugin"
	"github.com/execguard/execguard/test/kube"
	"github.com/execguard/execguard/test/node"
)

// dsImage is the name the test builds the node image under.
const dsImage = "localhost/execguard/execguard:e2e"

// TestKubernetesDaemonSet builds the node image with make image, imports
// it into a private containerd, applies install/kubernetes through a
// kustomize overlay that points the host paths at that node (everything
// under one directory standing for the node's /), and checks what the
// DaemonSet does there: the init container installs the shim into the
// node's containerd configuration and makes the state and event-log
// directories private, the plugin container connects as an external NRI
// plugin, and after the containerd restart the install asks for, kubectl
// exec -it is recorded, then refused under a blocking policy ConfigMap.
// kubectl delete and execguard uninstall leave the containerd
// configuration byte for byte as it was.
func TestKubernetesDaemonSet(t *testing.T) {
	requirePrerequisites(t)
	binDir := kubeBinDir(t)
	ctx := context.Background()
	work := t.TempDir()

	// The node's / for execguard: traversable by everyone, as / is, so
	// that the check of the private directories below tests them alone.
	host, err := os.MkdirTemp("", "egds-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(host) })
	hp := func(p string) string { return filepath.Join(host, p) }
	for _, d := range []string{host, hp("/etc/containerd"), hp("/etc/execguard")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfgFile := hp("/etc/execguard/config.toml")
	eventLog := hp("/var/log/execguard/events.ndjson")
	stateDir := hp("/run/execguard")
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf("event_log = %q\nstate_dir = %q\ncluster_name = \"execguard-e2e\"\n", eventLog, stateDir)), 0o644); err != nil {
		t.Fatal(err)
	}

	imageCtx, archive := buildNodeImage(t, work)

	n, err := node.Start(ctx, node.Options{WrapperConfig: cfgFile})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("containerd log tail:\n%s", n.LogTail(40))
		}
		if err := n.Close(); err != nil {
			t.Errorf("close node: %v", err)
		}
	})
	// The node's containerd reads its configuration where a host's does,
	// under the node's /; the installer edits it there.
	containerdConfig := hp("/etc/containerd/config.toml")
	if err := os.Rename(n.ConfigFile(), containerdConfig); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(containerdConfig, n.ConfigFile()); err != nil {
		t.Fatal(err)
	}
	original, err := os.ReadFile(containerdConfig)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := n.Ctr("images", "import", "--snapshotter", n.Snapshotter, archive); err != nil {
		t.Fatalf("import the node image: %v\n%s\ncontainerd log tail:\n%s", err, out, n.LogTail(20))
	}
	if _, err := n.Crictl("inspecti", dsImage); err != nil {
		t.Fatalf("image %s not visible to CRI after the import: %v", dsImage, err)
	}

	c := startKube(t, kube.Options{Node: n, BinDir: binDir})
	e := &env{t: t, node: n, front: frontShim, dir: work, configPath: cfgFile, eventLog: eventLog}

	overlay := writeOverlay(t, work, host, n)
	if out, err := c.Kubectl("apply", "-k", overlay); err != nil {
		t.Fatalf("kubectl apply -k: %v", err)
	} else {
		t.Logf("kubectl apply -k:\n%s", out)
	}
	pod := runDaemonSetPod(t, c)

	// The init container installed the shim onto the node's configuration.
	installLog, err := c.Kubectl("-n", "execguard", "logs", pod, "-c", "install")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("init container:\n%s", installLog)
	shim := hp("/usr/local/bin/" + containerd.ShimBinary)
	for _, want := range []string{
		"containerd handler runc: shim " + shim + " -> /usr/sbin/runc",
		"private directory " + stateDir + ": mode 0755 -> 0750",
		"private directory " + filepath.Dir(eventLog) + ": mode 0755 -> 0750",
	} {
		if !strings.Contains(installLog, want) {
			t.Errorf("the init container's log lacks %q", want)
		}
	}
	dropIn := hp("/etc/containerd/conf.d/99-execguard.toml")
	installed, err := os.ReadFile(containerdConfig)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(string(original), "imports = []", `imports = ["`+dropIn+`"]`, 1); string(installed) != want {
		t.Errorf("the node's containerd configuration after install:\n%s\nwant the original with the drop-in imported", installed)
	}
	if b, err := os.ReadFile(dropIn); err != nil || !strings.Contains(string(b), shim) {
		t.Errorf("drop-in %s does not name the shim %s: %v\n%s", dropIn, shim, err, b)
	}
	sameFile(t, filepath.Join(imageCtx, containerd.ShimBinary), shim)

	// The plugin container connected as an external plugin.
	st := waitStatus(t, stateDir, "the DaemonSet's plugin connected", func(s plugin.Status) bool {
		return s.Connected && !s.Synchronized.IsZero()
	})
	if st.Mode != "external" || st.Runtime.Name != "containerd" {
		t.Errorf("plugin status: mode %q, runtime %q; want external, containerd", st.Mode, st.Runtime.Name)
	}
	checkPrivateDirs(t, host, stateDir, filepath.Dir(eventLog))

	// The restart the install asks for; the plugin connects again.
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, stateDir, "the plugin reconnected after the restart", func(s plugin.Status) bool {
		return s.Connected && s.Reconnects >= 1
	})

	if err := c.CreateNamespace(kubeNamespace); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(dsWebPod(c.NodeName)); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitPodReady(kubeNamespace, "web", 60*time.Second); err != nil {
		t.Fatal(err)
	}
	k := &kubeEnv{env: e, c: c, front: frontShim}
	web := k.containerID("web")

	t.Run("exec-it-recorded", func(t *testing.T) {
		k := &kubeEnv{env: &env{t: t, node: n, front: frontShim, dir: work, configPath: cfgFile, eventLog: eventLog}, c: c, front: frontShim}
		mark := k.mark()
		s := k.session("-n", kubeNamespace, "exec", "-it", "web", "-c", "app", "--", "sh")
		if err := s.Expect(promptOrHint, 60*time.Second); err != nil {
			t.Fatal(err)
		}
		typeUntil(t, s, markerLine, computed)
		endSession(t, s, 0)
		docs := k.since(mark)
		execs := filter(docs, "event", "exec", web)
		alerts := filter(docs, "alert", "exec", web)
		if len(execs) != 1 || len(alerts) != 1 {
			t.Fatalf("%d exec events and %d alerts, want 1 and 1: %v", len(execs), len(alerts), docs)
		}
		checkKubeExec(t, execs[0], true)
		k.checkFront(t, "exec event", execs[0])
		check(t, "exec event", execs[0], []expectation{{"orchestrator.cluster.name", "execguard-e2e"}})
		// What the event records (the command, the pod) stays root's.
		checkPrivateDirs(t, host, stateDir, filepath.Dir(eventLog))
		checkUnreadable(t, eventLog)
	})

	t.Run("exec-it-refused-by-policy-configmap", func(t *testing.T) {
		k := &kubeEnv{env: &env{t: t, node: n, front: frontShim, dir: work, configPath: cfgFile, eventLog: eventLog}, c: c, front: frontShim}
		if err := c.Apply(blockingPolicyConfigMap); err != nil {
			t.Fatal(err)
		}
		// kubectl rollout restart: the DaemonSet controller would replace the pod.
		if err := c.DeleteOwnedPods("execguard", "execguard", 60*time.Second); err != nil {
			t.Fatal(err)
		}
		runDaemonSetPod(t, c)
		if b, err := os.ReadFile(hp("/etc/execguard/policy.yaml")); err != nil || string(b) != blockingPolicy {
			t.Fatalf("installed policy %q, %v; want the ConfigMap's", b, err)
		}
		mark := k.mark()
		s := k.session("-n", kubeNamespace, "exec", "-it", "web", "-c", "app", "--", "sh", "-c", "touch /tmp/was-here")
		out, err := s.Wait()
		if kube.ExitCode(err) != 1 {
			t.Errorf("kubectl exit %v, want status 1", err)
		}
		if got := strings.TrimSpace(strings.ReplaceAll(out, "\r", "")); !policyBlockedExec.MatchString(got) {
			t.Errorf("kubectl printed:\n%s\nwant a line matching %s", got, policyBlockedExec)
		}
		denied := filter(k.since(mark), "event", "exec", web)
		if len(denied) != 1 {
			t.Fatalf("%d exec events, want 1", len(denied))
		}
		check(t, "denied exec", denied[0], []expectation{
			{"event.type", []string{"denied"}},
			{"execguard.action", "block"},
			{"process.interactive", true},
		})
		if _, err := c.Kubectl("-n", kubeNamespace, "exec", "web", "-c", "app", "--", "test", "!", "-e", "/tmp/was-here"); err != nil {
			t.Errorf("the refused session ran: %v", err)
		}
	})

	// kubectl delete, then execguard uninstall on the node.
	if _, err := c.Kubectl("delete", "-k", overlay, "--wait=false"); err != nil {
		t.Fatalf("kubectl delete -k: %v", err)
	}
	// The garbage collector's part (no controller-manager runs).
	if err := c.DeleteOwnedPods("execguard", "execguard", 60*time.Second); err != nil {
		t.Fatal(err)
	}
	// Pods running on the shim keep it in use: uninstall would keep it.
	if _, err := c.Kubectl("-n", kubeNamespace, "delete", "pod", "web", "--wait", "--timeout=60s"); err != nil {
		t.Fatal(err)
	}
	// The kubelet removes dead sandboxes only after a while; its garbage
	// collection, done now (every pod is deleted), so that no container of
	// the node still names the shim.
	if _, err := n.Crictl("rmp", "--all", "--force"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(imageCtx, "execguard"), append([]string{"uninstall"}, nodePathFlags(host)...)...)
	out, err := cmd.CombinedOutput()
	t.Logf("execguard uninstall:\n%s", out)
	if err != nil {
		t.Fatalf("execguard uninstall: %v", err)
	}
	after, err := os.ReadFile(containerdConfig)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "still run on execguard's shim") {
		t.Errorf("uninstall found containers on the shim after every pod was deleted")
	}
	if string(after) != string(original) {
		t.Errorf("the node's containerd configuration after kubectl delete and uninstall:\n%s\nwas:\n%s", after, original)
	}
	for _, p := range []string{dropIn, shim} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there after uninstall (%v)", p, err)
		}
	}
}

func kubeBinDir(t *testing.T) string {
	t.Helper()
	binDir := os.Getenv(kube.BinDirEnv)
	if binDir == "" {
		binDir = kube.DefaultBinDir
	}
	if _, err := kube.FindBinaries(binDir); err != nil {
		t.Fatalf("e2e prerequisites missing: %v", err)
	}
	return binDir
}

// startKube starts a cluster in front of the engine opts names, closed
// when the test ends.
func startKube(t *testing.T, opts kube.Options) *kube.Cluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "egkube-")
	if err != nil {
		t.Fatal(err)
	}
	opts.Dir = dir
	start := time.Now()
	c, err := kube.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cluster logs:\n%s", c.LogTails(25))
		}
		closing := time.Now()
		if err := c.Close(); err != nil {
			t.Errorf("close cluster: %v", err)
		}
		t.Logf("cluster closed in %s", time.Since(closing).Round(time.Millisecond))
	})
	t.Logf("cluster up in %s", time.Since(start).Round(time.Millisecond))
	return c
}

// buildNodeImage runs make image with its outputs and podman store under
// dir; it returns the directory holding the image's binaries and the OCI
// archive.
func buildNodeImage(t *testing.T, dir string) (imageCtx, archive string) {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	imageCtx, archive = filepath.Join(dir, "image"), filepath.Join(dir, "execguard-image.oci.tar")
	// podman refuses a run root path longer than 50 characters.
	store, err := os.MkdirTemp("", "egimg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(store) })
	start := time.Now()
	cmd := exec.Command("make", "-C", root, "image", "IMAGE="+dsImage, "IMAGE_CONTEXT="+imageCtx,
		"IMAGE_ARCHIVE="+archive, "IMAGE_STORE="+store)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, tail(string(out), 30))
	}
	t.Logf("make image in %s", time.Since(start).Round(time.Millisecond))
	return imageCtx, archive
}

// nodePathFlags are execguard install's and uninstall's path flags for a
// node whose / is host: the DaemonSet overlay gives the init container
// the same ones.
func nodePathFlags(host string) []string {
	hp := func(p string) string { return filepath.Join(host, p) }
	return []string{
		"--engine=containerd",
		"--shim-path=" + hp("/usr/local/bin/"+containerd.ShimBinary),
		"--wrapper-path=" + hp("/usr/local/bin/execguard-runtime"),
		"--wrapper-dir=" + hp("/usr/local/bin"),
		"--crio-wrapper-dir=" + hp("/usr/local/libexec/execguard"),
		"--config=" + hp("/etc/execguard/config.toml"),
		"--policy-path=" + hp("/etc/execguard/policy.yaml"),
		"--backup-dir=" + hp("/var/lib/execguard/backup"),
		"--containerd-config=" + hp("/etc/containerd/config.toml"),
		"--containerd-drop-in=" + hp("/etc/containerd/conf.d/99-execguard.toml"),
		"--crio-config=" + hp("/etc/crio/crio.conf"),
		"--crio-config-dir=" + hp("/etc/crio/crio.conf.d"),
		"--plugin-path=" + hp("/usr/local/bin/execguard-nri"),
		"--systemd-unit=" + hp("/etc/systemd/system/execguard-nri.service"),
		"--plugin-log=" + hp("/var/log/execguard/nri.log"),
	}
}

// writeOverlay writes a kustomize overlay of install/kubernetes for the
// node whose / is host: every host path but /usr moves under host (the
// NRI socket's directory is the node's), the init container gets the
// matching install flags, the plugin its configuration, the image is the
// one built here, and the pod shares the host network (the cluster has no
// CNI). The manifests themselves are the embedded ones, unchanged.
func writeOverlay(t *testing.T, dir, host string, n *node.Node) string {
	t.Helper()
	overlay := filepath.Join(dir, "overlay")
	base := filepath.Join(overlay, "base")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := manifestFiles()
	if err != nil {
		t.Fatal(err)
	}
	var dsDoc []byte
	for _, f := range files {
		b, err := kubernetes.Manifests.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(base, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "kind: DaemonSet") {
			dsDoc = b
		}
	}
	writeYAML(t, filepath.Join(base, "kustomization.yaml"), map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": files,
	})
	var ds appsv1.DaemonSet
	if err := yaml.Unmarshal(dsDoc, &ds); err != nil {
		t.Fatal(err)
	}
	spec := ds.Spec.Template.Spec
	moved := map[string]string{} // volume name -> new host path
	var ops []map[string]any
	op := func(o, path string, v any) { ops = append(ops, map[string]any{"op": o, "path": path, "value": v}) }
	op("add", "/spec/template/spec/hostNetwork", true)
	for i, v := range spec.Volumes {
		if v.HostPath == nil || v.HostPath.Path == "/usr" {
			continue
		}
		p := filepath.Join(host, v.HostPath.Path)
		if v.HostPath.Path == "/var/run/nri" {
			p = filepath.Dir(n.NRISocket)
		}
		moved[v.Name] = p
		op("replace", fmt.Sprintf("/spec/template/spec/volumes/%d/hostPath/path", i), p)
	}
	for ci, c := range spec.InitContainers {
		for mi, m := range c.VolumeMounts {
			if p, ok := moved[m.Name]; ok {
				op("replace", fmt.Sprintf("/spec/template/spec/initContainers/%d/volumeMounts/%d/mountPath", ci, mi), "/host"+p)
			}
		}
		for _, f := range nodePathFlags(host) {
			op("add", fmt.Sprintf("/spec/template/spec/initContainers/%d/command/-", ci), f)
		}
	}
	for ci, c := range spec.Containers {
		for mi, m := range c.VolumeMounts {
			if p, ok := moved[m.Name]; ok && m.Name != "host-nri" {
				op("replace", fmt.Sprintf("/spec/template/spec/containers/%d/volumeMounts/%d/mountPath", ci, mi), p)
			}
		}
		op("add", fmt.Sprintf("/spec/template/spec/containers/%d/command/-", ci), "--execguard-config="+filepath.Join(host, "/etc/execguard/config.toml"))
	}
	patch, err := json.MarshalIndent(ops, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(overlay, "daemonset-patch.json"), patch, 0o644); err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndex(dsImage, ":")
	name, tag := dsImage[:i], dsImage[i+1:]
	writeYAML(t, filepath.Join(overlay, "kustomization.yaml"), map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
		"resources": []string{"base"},
		"images":    []map[string]string{{"name": spec.Containers[0].Image, "newName": name, "newTag": tag}},
		"patches":   []map[string]any{{"path": "daemonset-patch.json", "target": map[string]string{"kind": "DaemonSet", "name": ds.Name}}},
	})
	return overlay
}

// manifestFiles names the files of install/kubernetes, in order.
func manifestFiles() ([]string, error) {
	entries, err := kubernetes.Manifests.ReadDir(".")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out, nil
}

func writeYAML(t *testing.T, file string, v any) {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runDaemonSetPod creates the DaemonSet's pod on the node and waits until
// it is ready (the init container done, the plugin running).
func runDaemonSetPod(t *testing.T, c *kube.Cluster) string {
	t.Helper()
	pod, err := c.RunDaemonSet("execguard", "execguard")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitPodReady("execguard", pod, 90*time.Second); err != nil {
		logs, _ := c.Kubectl("-n", "execguard", "logs", pod, "--all-containers", "--tail=30")
		t.Fatalf("%v\ncontainer logs:\n%s", err, logs)
	}
	return pod
}

// checkPrivateDirs: root owns the directories, mode 0750, and another
// user cannot list them, while it can list their parents (so the refusal
// comes from the directories themselves).
func checkPrivateDirs(t *testing.T, host string, dirs ...string) {
	t.Helper()
	asNobody := func(args ...string) (string, error) {
		out, err := exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--"}, args...)...).CombinedOutput()
		return string(out), err
	}
	for _, d := range dirs {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if st.Mode().Perm() != 0o750 || sys.Uid != 0 || sys.Gid != 0 {
			t.Errorf("%s: mode %04o owner %d:%d, want 0750 root:root", d, st.Mode().Perm(), sys.Uid, sys.Gid)
		}
		if out, err := asNobody("ls", filepath.Dir(d)); err != nil {
			t.Fatalf("another user cannot list %s, the parent of %s, so the check proves nothing: %v %s", filepath.Dir(d), d, err, out)
		}
		out, err := asNobody("ls", d)
		if err == nil || !strings.Contains(out, "Permission denied") {
			t.Errorf("another user listed %s: %v\n%s", d, err, out)
		}
	}
}

// checkUnreadable: another user cannot read file, which exists.
func checkUnreadable(t *testing.T, file string) {
	t.Helper()
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "cat", file).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Permission denied") {
		t.Errorf("another user read %s: %v\n%s", file, err, out)
	}
}

// sameFile fails the test unless the two files have the same content.
func sameFile(t *testing.T, want, got string) {
	t.Helper()
	a, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if string(a) != string(b) {
		t.Errorf("%s differs from %s", got, want)
	}
}

func dsWebPod(nodeName string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: %s
  labels: {app: web, tier: frontend}
spec:
  nodeName: %s
  hostNetwork: true
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: %s
    imagePullPolicy: Never
    command: [sleep, "3600"]
`, kubeNamespace, nodeName, node.BusyboxImage)
}

// policyBlockedExec is the whole of what kubectl exec -it prints when the
// shim refuses the exec under a policy: the refusal names the selector.
var policyBlockedExec = regexp.MustCompile(`^error: Internal error occurred: Internal error occurred: error executing command in container: ` +
	`failed to exec in container: failed to create exec "[0-9a-f]{64}": ` +
	`execguard: interactive exec into container "app" of pod demo/web blocked by policy \(selector interactiveProcesses\): permission denied$`)

// blockingPolicy refuses interactive sessions and records everything.
const blockingPolicy = `process:
  selectors:
    - name: allProcesses
      operation: [exec, containerStart]
    - name: interactiveProcesses
      operation: [exec, containerStart]
      sessionLeaderInteractive: true
  responses:
    - match: [allProcesses]
      actions: [log]
    - match: [interactiveProcesses]
      actions: [alert, block]
`

var blockingPolicyConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: execguard-policy
  namespace: execguard
data:
  policy.yaml: |
` + indent(blockingPolicy, "    ")

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}
