package crionode

import "github.com/execguard/execguard/test/node"

// RunExecs runs execs through CRI with at most concurrency of them in
// flight, as node.Node's RunExecs does on containerd.
func (n *Node) RunExecs(execs []node.Exec, concurrency int, done func(node.ExecResult)) []node.ExecResult {
	return node.RunExecsOn(n, execs, concurrency, done)
}

// ExecStreams runs cmd in the container without a terminal (crictl exec)
// and returns its stdout and stderr apart: CRI-O runs the runtime of a
// streaming exec on the exec's own pipes, so what a runtime writes to its
// stderr reaches the exec's stderr.
func (n *Node) ExecStreams(ctrID string, cmd ...string) (stdout, stderr string, err error) {
	return node.ExecStreamsArgv(n.CrictlArgv(append([]string{"exec", ctrID}, cmd...)...), ctrID, n.opts.CommandTimeout)
}
