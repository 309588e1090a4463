package kube

import (
	"os"
	"strings"

	"github.com/execguard/execguard/test/crionode"
	"github.com/execguard/execguard/test/node"
)

// engine is the container engine behind the kubelet's CRI socket: a
// test/node containerd or a test/crionode CRI-O.
type engine struct {
	name   string // for messages: containerd, CRI-O
	socket string
	crictl func(args ...string) (string, error)
	log    func(lines int) string
	// hidden are host directories the kubelet must not see in front of
	// this engine (an empty tmpfs over each in its mount namespace).
	hidden []string
}

func containerdEngine(n *node.Node) *engine {
	return &engine{name: "containerd", socket: n.Socket, crictl: n.Crictl, log: n.LogTail}
}

func crioEngine(n *crionode.Node) *engine {
	e := &engine{name: "CRI-O", socket: n.Socket, crictl: n.Crictl, log: n.LogTail}
	if hugetlbWithoutV1Hierarchy() {
		e.hidden = append(e.hidden, hugepagesDir)
	}
	return e
}

// hugetlbWithoutV1Hierarchy reports a kernel with the hugetlb controller
// and huge pages, on a cgroup v1 layout that does not mount it.
func hugetlbWithoutV1Hierarchy() bool {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return false // unified: runc finds hugetlb there
	}
	if _, err := os.Stat(hugepagesDir); err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/cgroups")
	if err != nil || !strings.Contains(string(b), "\nhugetlb\t") {
		return false
	}
	_, err = os.Stat("/sys/fs/cgroup/hugetlb")
	return err != nil
}

// killContainers stops every running container at once (no grace period).
func (e *engine) killContainers() error {
	out, err := e.crictl("ps", "--quiet")
	if err != nil {
		return err
	}
	ids := strings.Fields(out)
	if len(ids) == 0 {
		return nil
	}
	_, err = e.crictl(append([]string{"stop", "--timeout", "0"}, ids...)...)
	return err
}
