package node

import (
	"io"
	"strings"
	"time"
)

// CreateStdinContainer creates and starts a busybox container running cmd
// with stdin open and no terminal (CRI stdin: true, tty: false), the kind
// crictl attach -i and kubectl attach -i feed.
func (n *Node) CreateStdinContainer(podID, name string, cmd ...string) (string, error) {
	return n.createContainer(podID, name, false, true, cmd...)
}

// ExecStdin runs cmd in the container with stdin attached and no terminal
// (crictl exec -i), feeding it input, and returns its stdout.
func (n *Node) ExecStdin(ctrID string, input io.Reader, cmd ...string) (string, error) {
	argv := n.CrictlArgv(append([]string{"exec", "-i", ctrID}, cmd...)...)
	return n.run(input, argv[0], argv[1:]...)
}

// CtrExecStdin runs cmd in the container through the containerd API without
// a terminal (ctr task exec, whose stdin is always attached), feeding it
// input, and returns its stdout.
func (n *Node) CtrExecStdin(ctrID, execID, input string, cmd ...string) (string, error) {
	argv := n.CtrArgv(append([]string{"task", "exec", "--fifo-dir", n.FIFODir, "--exec-id", execID, ctrID}, cmd...)...)
	return n.run(strings.NewReader(input), argv[0], argv[1:]...)
}

// AttachStdin attaches to a running container's stdin and output
// (crictl attach -i), feeds it input and returns what the container wrote,
// once the container ends or the timeout passes.
func (n *Node) AttachStdin(ctrID, input string, timeout time.Duration) (string, error) {
	argv := n.CrictlArgv("attach", "-i", ctrID)
	return n.runTimeout(timeout, strings.NewReader(input), argv[0], argv[1:]...)
}
