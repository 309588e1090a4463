package runtime

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/internal/plainfile"
)

// Callers, as execguard names the engines that run the runtime.
const (
	CallerContainerd = "containerd-shim"
	CallerConmon     = "conmon"
	CallerConmonRS   = "conmon-rs"
	CallerCRIO       = "crio"
	CallerPodman     = "podman"
	CallerManual     = "manual"
)

// parentProcess is what /proc tells of the process that ran the runtime;
// args only for conmon.
type parentProcess struct {
	pid  int
	comm string
	exe  string
	args []string
}

func readParent(pid int) parentProcess {
	p := parentProcess{pid: pid}
	proc := "/proc/" + strconv.Itoa(pid)
	if comm, err := plainfile.ReadFile(proc + "/comm"); err == nil {
		p.comm = strings.TrimSpace(string(comm))
	}
	if exe, err := os.Readlink(proc + "/exe"); err == nil {
		p.exe = exe
	}
	if p.comm != "conmon" {
		// Only conmon's command line tells anything: the exec's kind and
		// the container's name (execKind, conmonName).
		return p
	}
	if cmdline, err := plainfile.ReadFile(proc + "/cmdline"); err == nil {
		for _, a := range bytes.Split(bytes.TrimSuffix(cmdline, []byte{0}), []byte{0}) {
			p.args = append(p.args, string(a))
		}
	}
	return p
}

// callerOf describes the process that ran the runtime for call c.
func callerOf(c Call) (detect.Caller, parentProcess) {
	p := readParent(os.Getppid())
	return detect.Caller{PID: p.pid, Name: p.comm, Executable: p.exe, Engine: classifyCaller(c, p.comm)}, p
}

// classifyCaller names the engine that ran the runtime: from the parent's
// name where it is one of the engines, else from the shape of the command
// line, which each engine builds its own way (reference: runtime-calls.md).
func classifyCaller(c Call, parentComm string) string {
	switch {
	case strings.HasPrefix(parentComm, "containerd-shim"):
		return CallerContainerd
	case parentComm == "conmon":
		return CallerConmon
	case parentComm == "conmon-rs" || parentComm == "conmonrs":
		return CallerConmonRS
	case parentComm == "crio":
		return CallerCRIO
	case parentComm == "podman":
		return CallerPodman
	}
	pid := c.Flags.Get("pid-file")
	base := filepath.Base(pid)
	switch {
	case strings.HasPrefix(base, "exec_sync") || strings.HasPrefix(base, "exec_streaming"):
		return CallerConmonRS
	case filepath.Base(c.Global.Get("log")) == "log.json" && c.Global.Get("log-format") == "json":
		// go-runc: --log <bundle>/log.json --log-format json, always.
		return CallerContainerd
	case c.Subcommand == "exec" && c.Flags.Has("process") && !c.Flags.Has("detach") && pid == "":
		// CRI-O's streaming exec: the runtime in the foreground on the
		// caller's stdio, with a process file and nothing else.
		return CallerCRIO
	}
	return CallerManual
}

// execKind tells a CRI ExecSync (exec and liveness probes, crictl exec
// --sync), where no person is at the other end even when the process spec
// asks for a terminal, from a streaming exec and from an engine's own exec.
//
//   - conmon-rs names the pid file after the kind: exec_sync... or
//     exec_streaming...
//   - CRI-O runs the runtime itself for a streaming exec, and conmon only for
//     ExecSync; Podman runs every exec through conmon, which it starts with
//     --exec-attach (CRI-O's ExecSync conmon has --sync and no
//     --exec-attach). The container's io.container.manager annotation
//     (cri-o or libpod) decides when the conmon command line cannot be read.
func execKind(caller string, c Call, parentArgs []string, manager string) detect.ExecKind {
	switch caller {
	case CallerConmonRS:
		if strings.HasPrefix(filepath.Base(c.Flags.Get("pid-file")), "exec_sync") {
			return detect.ExecSync
		}
		return detect.ExecStream
	case CallerCRIO:
		return detect.ExecStream
	case CallerConmon:
		attach, sync := false, false
		for _, a := range parentArgs {
			switch a {
			case "--exec-attach":
				attach = true
			case "--sync":
				sync = true
			}
		}
		switch {
		case attach:
			return detect.ExecEngine
		case sync || manager == "cri-o":
			return detect.ExecSync
		}
	}
	return detect.ExecEngine
}

// conmonName is the container name conmon was started with (-n NAME).
func conmonName(args []string) string {
	for i := 1; i+1 < len(args); i++ {
		if args[i] == "-n" || args[i] == "--name" {
			return args[i+1]
		}
	}
	return ""
}
