// Package detect holds execguard's pure logic: the facts of one runtime call,
// the interactive-entry-leader rule, the decision, and the ECS documents that
// record it. It does no I/O, so everything in it is testable with tables.
package detect

import "fmt"

// Operation is what the runtime is asked to start.
type Operation string

const (
	// OpExec is a process started in a running container (runc/crun exec).
	OpExec Operation = "exec"
	// OpContainerStart is a container's init process, seen at create/run.
	OpContainerStart Operation = "container-start"
	// OpUnknown is a call whose subcommand could not be read.
	OpUnknown Operation = "unknown"
)

// Process is the process the runtime is about to start, from the OCI process
// spec (exec --process, or config.json on create) or the exec command line.
type Process struct {
	Args     []string
	Env      []string
	Cwd      string
	Terminal bool
	UID      uint32
	GID      uint32
	// UserName is the spec's user.username, "" when it gives none.
	UserName string
	// ConsoleRows and ConsoleColumns are the spec's consoleSize (0 when
	// it gives none).
	ConsoleRows, ConsoleColumns uint32
	// TTY is the terminal's character device, when the front knows it.
	TTY *CharDevice
	// PID is the process's pid, when the front knows it before the event
	// is written.
	PID uint32
	// Known is false when the spec could not be read: the other fields are
	// then empty and Terminal says nothing.
	Known bool
}

// CharDevice is a terminal's character device numbers.
type CharDevice struct {
	Major, Minor uint32
}

// Name is the base name of the executable, as ECS process.name wants it.
func (p Process) Name() string {
	if len(p.Args) == 0 {
		return ""
	}
	return baseName(p.Args[0])
}

// Container is what is known of the target container: from the bundle's
// config.json annotations, and later from the NRI plugin.
type Container struct {
	ID        string
	Name      string
	Image     string // full reference as requested, e.g. docker.io/library/busybox:1
	Runtime   string // the runtime the wrapper stands in for: runc, crun
	Bundle    string
	Type      string // "sandbox" or "container" when the engine says so
	SandboxID string
	Manager   string // engine that manages it: "containerd", "cri-o", "libpod"

	PodName      string
	PodNamespace string
	PodUID       string
	PodLabels    map[string]string

	// From the NRI plugin's published metadata, when present.
	ImageDigest    string
	RuntimeHandler string
}

// Cluster identifies the Kubernetes cluster the node belongs to.
type Cluster struct {
	ID   string
	Name string
}

// Caller is the process that executed the runtime (shim, conmon, crio).
type Caller struct {
	PID        int
	Name       string
	Executable string
	// Engine names the engine the call came from: containerd-shim, conmon,
	// conmon-rs, crio, podman or manual.
	Engine string
}

// ExecKind says what kind of exec a call is, as far as the caller shows it.
type ExecKind string

const (
	// ExecSync is a CRI ExecSync: exec and liveness probes, crictl exec
	// --sync. Nobody is at the other end, even when CRI-O gives it the
	// container's terminal setting.
	ExecSync ExecKind = "sync"
	// ExecStream is a CRI streaming exec: kubectl exec, crictl exec.
	ExecStream ExecKind = "stream"
	// ExecEngine is an exec the engine does not tell apart: containerd's
	// (CRI or ctr, whose terminal flag comes from the request), podman exec.
	ExecEngine ExecKind = "engine"
)

// Stdin says what the started process's standard input is connected to, as
// the front saw it: the runtime call's fd 0 (wrapper) or the request's stdin
// path (shim). It says whether stdin was requested, not whether a person is
// typing: kubectl cp's tar reads a pipe too.
type Stdin string

const (
	// StdinTerminal: the process gets a terminal (process.terminal).
	StdinTerminal Stdin = "terminal"
	// StdinAttached: no terminal, but stdin is connected to something the
	// caller can write to (a pipe, a socket, a file, a terminal device).
	StdinAttached Stdin = "attached"
	// StdinNone: no stdin was requested (/dev/null, or fd 0 closed).
	StdinNone Stdin = "none"
	// StdinUnknown (empty): the front could not tell.
	StdinUnknown Stdin = ""
)

// Facts is everything a decision is made from, for one runtime call.
type Facts struct {
	Operation Operation
	Process   Process
	// Stdin is what the process's stdin is connected to; StdinSource says
	// what the front saw (for example "pipe", "/dev/null", "socket",
	// "file", "tty", "closed", or the shim's stdin path kind).
	Stdin       Stdin
	StdinSource string
	Container   Container
	Caller      Caller
	// ExecID names an exec where the caller gave one (containerd's pid file).
	ExecID string
	// ExecKind is set for execs.
	ExecKind ExecKind
	// Subcommand is the runtime subcommand (exec, create, run).
	Subcommand string
	// Cluster names the Kubernetes cluster, from configuration.
	Cluster Cluster
	// Namespace is the documents' data_stream.namespace, from
	// configuration; "" is "default".
	Namespace string
	// Problems are the things that went wrong while gathering the facts.
	// They are recorded in the event; the fail mode decides what they mean.
	Problems []string
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// AddProblem records something that went wrong while gathering facts.
func (f *Facts) AddProblem(format string, args ...any) {
	f.Problems = append(f.Problems, fmt.Sprintf(format, args...))
}
