package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// diagnose says which part of the cluster a failed kubectl call ran into:
// the admin kubeconfig gone, the apiserver exited or not answering; "" when
// all of them look well (the failure is then kubectl's answer itself).
func (c *Cluster) diagnose() string {
	if _, err := os.Stat(c.Kubeconfig); err != nil {
		return fmt.Sprintf("admin kubeconfig %s missing (%v): kubectl cannot reach the cluster", c.Kubeconfig, err)
	}
	api := c.component("kube-apiserver")
	if api == nil {
		return "kube-apiserver was never started"
	}
	if !api.running() {
		return c.componentError(api, fmt.Sprintf("exited (%v)", api.cmd.ProcessState)).Error()
	}
	if u, err := url.Parse(c.Server); err == nil {
		conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
		if err != nil {
			return c.componentError(api, fmt.Sprintf("runs but does not answer at %s: %v", c.Server, err)).Error()
		}
		_ = conn.Close()
	}
	return ""
}

func (c *Cluster) component(name string) *component {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, comp := range c.components {
		if comp.name == name {
			return comp
		}
	}
	return nil
}

// KillComponent kills one component (etcd, kube-apiserver,
// kube-scheduler, kubelet) and waits for its exit, as a crash would leave
// the cluster; Close still cleans up.
func (c *Cluster) KillComponent(name string) error {
	comp := c.component(name)
	if comp == nil {
		return fmt.Errorf("kill %s: no such component", name)
	}
	_ = comp.cmd.Process.Kill()
	select {
	case <-comp.exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) still running after SIGKILL", comp.name, comp.cmd.Process.Pid)
	}
}

// imageProblems names the images of a pod's containers that the node's
// container runtime does not have, with the reason the kubelet gives.
func (c *Cluster) imageProblems(namespace, pod string) string {
	out, err := c.kubectlTimeout(10*time.Second, nil, "-n", namespace, "get", "pod", pod, "-o", "json")
	if err != nil {
		return ""
	}
	var p corev1.Pod
	if json.Unmarshal([]byte(out), &p) != nil {
		return ""
	}
	var problems []string
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, s := range statuses {
		w := s.State.Waiting
		if w == nil {
			continue
		}
		switch w.Reason {
		case "ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
		default:
			continue
		}
		n := c.engine
		problem := fmt.Sprintf("container %s: image %s is not in the node's %s (%s: %s); import it into the engine's image store",
			s.Name, s.Image, n.name, w.Reason, w.Message)
		if _, err := n.crictl("inspecti", s.Image); err == nil {
			problem = fmt.Sprintf("container %s: image %s is in the node's %s, yet the kubelet says %s: %s", s.Name, s.Image, n.name, w.Reason, w.Message)
		}
		problem += fmt.Sprintf("\n%s log tail:\n%s", n.name, n.log(15))
		problems = append(problems, problem)
	}
	return strings.Join(problems, "\n")
}

// withDiagnosis adds what diagnose found to a kubectl error.
func (c *Cluster) withDiagnosis(err error) error {
	if err == nil {
		return nil
	}
	if d := c.diagnose(); d != "" {
		return errors.Join(err, errors.New(d))
	}
	return err
}
