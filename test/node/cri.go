package node

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// namespaceModeNode is CRI's NamespaceMode NODE: the pod uses the host's
// network namespace, so no CNI is needed.
const namespaceModeNode = 2

// RunPod starts a host-network pod sandbox and returns its id.
func (n *Node) RunPod(name, namespace string) (string, error) {
	return n.RunPodWithLabels(name, namespace, nil)
}

// RunPodWithLabels starts a host-network pod sandbox with the given labels
// and returns its id.
func (n *Node) RunPodWithLabels(name, namespace string, labels map[string]string) (string, error) {
	logDir := filepath.Join(n.l.podsDir(), namespace+"_"+name)
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return "", fmt.Errorf("run pod %s/%s: %w", namespace, name, err)
	}
	cfg := map[string]any{
		"metadata": map[string]any{
			"name":      name,
			"namespace": namespace,
			"uid":       namespace + "-" + name + "-uid",
			"attempt":   0,
		},
		// No hostname: CRI refuses to set one for host-network pods.
		"log_directory": logDir,
		"linux": map[string]any{
			"cgroup_parent": n.CgroupParent,
			"security_context": map[string]any{
				"namespace_options": map[string]any{"network": namespaceModeNode},
			},
		},
	}
	if len(labels) > 0 {
		cfg["labels"] = labels
	}
	file := filepath.Join(n.l.podsDir(), namespace+"_"+name+".json")
	if err := writeJSON(file, cfg); err != nil {
		return "", fmt.Errorf("run pod %s/%s: %w", namespace, name, err)
	}
	out, err := n.Crictl("runp", file)
	if err != nil {
		return "", fmt.Errorf("run pod %s/%s: %w", namespace, name, err)
	}
	id := strings.TrimSpace(out)
	n.mu.Lock()
	n.pods[id] = file
	n.mu.Unlock()
	return id, nil
}

// CreateContainer creates and starts a busybox container running cmd in the
// pod and returns its id. tty also opens stdin, as kubectl run -it does.
func (n *Node) CreateContainer(podID, name string, tty bool, cmd ...string) (string, error) {
	return n.createContainer(podID, name, tty, tty, cmd...)
}

func (n *Node) createContainer(podID, name string, tty, stdin bool, cmd ...string) (string, error) {
	return n.CreateContainerWith(podID, Container{Name: name, TTY: tty, Stdin: stdin, Cmd: cmd})
}

// Container is a busybox container's CRI config, for CreateContainerWith.
type Container struct {
	Name       string
	TTY, Stdin bool
	// Env is the container's environment, KEY=VALUE.
	Env []string
	Cmd []string
}

// CreateContainerWith creates and starts the container c in the pod and
// returns its id; when the start fails, the id of the created container
// (if any) comes with the error.
func (n *Node) CreateContainerWith(podID string, c Container) (string, error) {
	name, tty, stdin, cmd := c.Name, c.TTY, c.Stdin, c.Cmd
	n.mu.Lock()
	podFile, ok := n.pods[podID]
	n.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("create container %s: pod %s was not started by this node", name, podID)
	}
	cfg := map[string]any{
		"metadata": map[string]any{"name": name},
		"image":    map[string]any{"image": BusyboxImage},
		"command":  cmd,
		"log_path": name + ".log",
		"tty":      tty,
		"stdin":    stdin,
		"linux":    map[string]any{},
	}
	if len(c.Env) > 0 {
		var envs []map[string]string
		for _, kv := range c.Env {
			k, v, _ := strings.Cut(kv, "=")
			envs = append(envs, map[string]string{"key": k, "value": v})
		}
		cfg["envs"] = envs
	}
	file := filepath.Join(filepath.Dir(podFile), strings.TrimSuffix(filepath.Base(podFile), ".json")+"_"+name+".json")
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
	if _, err := n.Crictl("rmp", "--force", podID); err != nil {
		return fmt.Errorf("remove pod: %w", err)
	}
	n.mu.Lock()
	delete(n.pods, podID)
	n.mu.Unlock()
	return nil
}

// Exec runs cmd in the container without a terminal (crictl exec) and
// returns its stdout.
func (n *Node) Exec(ctrID string, cmd ...string) (string, error) {
	return n.Crictl(append([]string{"exec", ctrID}, cmd...)...)
}

// ExecTTY runs cmd in the container with a terminal (crictl exec -it,
// driven under script) and returns what the terminal showed.
func (n *Node) ExecTTY(ctrID string, cmd ...string) (string, error) {
	return n.Script(n.CrictlArgv(append([]string{"exec", "-it", ctrID}, cmd...)...)...)
}

// CtrExecTTY runs cmd in the container with a terminal through the
// containerd API (ctr task exec --tty, driven under script), bypassing CRI.
func (n *Node) CtrExecTTY(ctrID, execID string, cmd ...string) (string, error) {
	args := append([]string{"task", "exec", "--tty", "--fifo-dir", n.FIFODir, "--exec-id", execID, ctrID}, cmd...)
	return n.Script(n.CtrArgv(args...)...)
}

func writeJSON(file string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o600)
}
