package crionode

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/execguard/execguard/test/node"
)

// CRI's NamespaceMode: a pod uses the host's network namespace (NODE), so
// no CNI is needed, and each container its own pid namespace (CONTAINER,
// the kubelet's default), so CRI-O runs no infra container, whose
// oom_score_adj of -998 needs CAP_SYS_RESOURCE.
const (
	namespaceModeContainer = 1
	namespaceModeNode      = 2
)

// namespaceOptions are the pod's, which the kubelet repeats for every
// container and CRI-O wants repeated.
func namespaceOptions() map[string]any {
	return map[string]any{"network": namespaceModeNode, "pid": namespaceModeContainer}
}

// Pod describes a host-network pod sandbox.
type Pod struct {
	Name, Namespace string
	Labels          map[string]string
	// Handler is the runtime handler (crictl runp --runtime); empty: the
	// node's default.
	Handler string
}

// RunPod starts a host-network pod sandbox on the default handler and
// returns its id.
func (n *Node) RunPod(name, namespace string) (string, error) {
	return n.RunPodWith(Pod{Name: name, Namespace: namespace})
}

// RunPodWith starts a host-network pod sandbox and returns its id.
func (n *Node) RunPodWith(p Pod) (string, error) {
	what := fmt.Sprintf("run pod %s/%s", p.Namespace, p.Name)
	logDir := filepath.Join(n.l.podsDir(), p.Namespace+"_"+p.Name)
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	cfg := map[string]any{
		"metadata": map[string]any{
			"name":      p.Name,
			"namespace": p.Namespace,
			"uid":       podUID(p),
			"attempt":   0,
		},
		// No hostname: CRI refuses to set one for host-network pods.
		"log_directory": logDir,
		"linux": map[string]any{
			"cgroup_parent": n.CgroupParent,
			"security_context": map[string]any{
				"namespace_options": namespaceOptions(),
			},
		},
	}
	// The kubelet labels every pod and container with its Kubernetes
	// identity; CRI-O copies labels into the bundle's annotations.
	labels := kubeletLabels(p, "")
	for k, v := range p.Labels {
		labels[k] = v
	}
	cfg["labels"] = labels
	file := filepath.Join(n.l.podsDir(), p.Namespace+"_"+p.Name+".json")
	if err := writeJSON(file, cfg); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	args := []string{"runp"}
	if p.Handler != "" {
		args = append(args, "--runtime", p.Handler)
	}
	out, err := n.Crictl(append(args, file)...)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	id := strings.TrimSpace(out)
	n.mu.Lock()
	n.pods[id] = podRecord{file: file, pod: p}
	n.mu.Unlock()
	return id, nil
}

// podRecord is what a node keeps of each pod it started.
type podRecord struct {
	file string // the pod config
	pod  Pod
}

// kubeletLabels are the labels the kubelet gives a pod sandbox (container
// "") or a container.
func kubeletLabels(p Pod, container string) map[string]string {
	l := map[string]string{
		"io.kubernetes.pod.name":      p.Name,
		"io.kubernetes.pod.namespace": p.Namespace,
		"io.kubernetes.pod.uid":       podUID(p),
	}
	if container != "" {
		l["io.kubernetes.container.name"] = container
	}
	return l
}

func podUID(p Pod) string { return p.Namespace + "-" + p.Name + "-uid" }

// CreateContainer creates and starts a busybox container running cmd in the
// pod and returns its id. tty also opens stdin, as kubectl run -it does.
func (n *Node) CreateContainer(podID, name string, tty bool, cmd ...string) (string, error) {
	n.mu.Lock()
	rec, ok := n.pods[podID]
	n.mu.Unlock()
	podFile := rec.file
	if !ok {
		return "", fmt.Errorf("create container %s: pod %s was not started by this node", name, podID)
	}
	// conmon writes the log but does not create its directory.
	logDir := filepath.Join(strings.TrimSuffix(podFile, ".json"), name)
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return "", fmt.Errorf("create container %s: %w", name, err)
	}
	cfg := map[string]any{
		"metadata": map[string]any{"name": name},
		"image":    map[string]any{"image": BusyboxImage},
		"command":  cmd,
		"log_path": name + "/0.log",
		"tty":      tty,
		"stdin":    tty,
		"labels":   kubeletLabels(rec.pod, name),
		"linux": map[string]any{
			"security_context": map[string]any{"namespace_options": namespaceOptions()},
		},
	}
	file := strings.TrimSuffix(podFile, ".json") + "_" + name + ".json"
	if err := writeJSON(file, cfg); err != nil {
		return "", fmt.Errorf("create container %s: %w", name, err)
	}
	out, err := n.Crictl("create", podID, file, podFile)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", name, err)
	}
	id := strings.TrimSpace(out)
	if _, err := n.Crictl("start", id); err != nil {
		return id, fmt.Errorf("start container %s: %w", name, err)
	}
	return id, nil
}

// RemovePod stops and removes a pod and its containers.
func (n *Node) RemovePod(podID string) error {
	if err := n.stopContainers("--pod", podID); err != nil {
		return fmt.Errorf("remove pod: %w", err)
	}
	if _, err := n.Crictl("rmp", "--force", podID); err != nil {
		return fmt.Errorf("remove pod: %w", err)
	}
	n.mu.Lock()
	delete(n.pods, podID)
	n.mu.Unlock()
	return nil
}

// stopContainers stops the running containers crictl ps selects with
// filter at once: CRI-O's StopPodSandbox would give each the SIGTERM a busybox
// PID 1 ignores and wait out its stop timeout.
func (n *Node) stopContainers(filter ...string) error {
	out, err := n.Crictl(append([]string{"ps", "--quiet"}, filter...)...)
	if err != nil {
		return err
	}
	ids := strings.Fields(out)
	if len(ids) == 0 {
		return nil
	}
	_, err = n.Crictl(append([]string{"stop", "--timeout", "0"}, ids...)...)
	return err
}

// CrictlArgv is the full argv of a crictl call against the node.
func (n *Node) CrictlArgv(args ...string) []string {
	return append([]string{n.tools.crictl, "--config", n.CrictlConfig}, args...)
}

// Crictl runs crictl against the node and returns its stdout.
func (n *Node) Crictl(args ...string) (string, error) {
	argv := n.CrictlArgv(args...)
	return n.run(nil, argv[0], argv[1:]...)
}

// Exec runs cmd in the container without a terminal or stdin (crictl exec:
// a CRI streaming exec) and returns its stdout.
func (n *Node) Exec(ctrID string, cmd ...string) (string, error) {
	return n.Crictl(append([]string{"exec", ctrID}, cmd...)...)
}

// ExecStdin runs cmd in the container with stdin attached and no terminal
// (crictl exec -i), writes stdin to it and returns its stdout.
func (n *Node) ExecStdin(ctrID, stdin string, cmd ...string) (string, error) {
	argv := n.CrictlArgv(append([]string{"exec", "-i", ctrID}, cmd...)...)
	return n.run(strings.NewReader(stdin), argv[0], argv[1:]...)
}

// ExecSync runs cmd in the container through CRI ExecSync (crictl exec -s,
// as probes run) and returns its stdout.
func (n *Node) ExecSync(ctrID string, cmd ...string) (string, error) {
	return n.Crictl(append([]string{"exec", "-s", ctrID}, cmd...)...)
}

// ExecTTY runs cmd in the container with a terminal (crictl exec -it,
// driven under script) and returns what the terminal showed.
func (n *Node) ExecTTY(ctrID string, cmd ...string) (string, error) {
	return n.Script(n.CrictlArgv(append([]string{"exec", "-it", ctrID}, cmd...)...)...)
}

// Script runs argv under `script -qec` so that it gets a pseudo-terminal
// (crictl exec -it refuses to run without one) and returns everything
// written to that terminal.
func (n *Node) Script(argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.CommandTimeout)
	defer cancel()
	line := node.ShellQuote(argv...)
	cmd := exec.CommandContext(ctx, n.tools.script, "-qec", line, "/dev/null")
	cmd.Env = append(os.Environ(), "SHELL=/bin/sh", "TERM=xterm")
	// script stops forwarding when its stdin reaches EOF; a pipe that stays
	// open until the session ends keeps it from cutting the session short.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", fmt.Errorf("script %s: %w", line, err)
	}
	defer stdin.Close()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", n.opts.CommandTimeout, ctx.Err())
	}
	if err != nil {
		return string(out), fmt.Errorf("script %s: %w", line, err)
	}
	return string(out), nil
}

func writeJSON(file string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o600)
}
