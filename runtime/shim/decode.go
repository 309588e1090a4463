package shim

import (
	"bytes"
	"strings"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/runtime/core"
)

// Stdin sources, as the shim tells them from a request's stdin path.
const (
	SourceTerminal = "terminal"
	SourceFIFO     = "fifo"
	SourceNone     = "none"
)

// stdinOf classifies the process's stdin from the request: a terminal, the
// path containerd gives for stdin (a FIFO, or a URI such as binary:// or
// file://), or nothing.
func stdinOf(terminal bool, path string) (detect.Stdin, string) {
	switch {
	case terminal:
		return detect.StdinTerminal, SourceTerminal
	case path == "":
		return detect.StdinNone, SourceNone
	}
	if scheme, _, ok := strings.Cut(path, "://"); ok && scheme != "" && !strings.Contains(scheme, "/") {
		return detect.StdinAttached, scheme
	}
	return detect.StdinAttached, SourceFIFO
}

// execProcess decodes an exec request's process spec: an Any whose value is
// the OCI process as JSON, read as a stream with no size limit deciding
// (core.ProcessFromSpec). A spec that cannot be read leaves the process
// unknown, with the problem recorded; a hostile one is decided as a process
// with a terminal.
func execProcess(f *detect.Facts, spec *anypb.Any) detect.Process {
	if spec == nil {
		f.AddProblem("process spec: missing from the exec request")
		return detect.Process{}
	}
	what := "(" + spec.GetTypeUrl() + ")"
	if len(spec.GetValue()) == 0 {
		f.AddProblem("process spec %s: empty", what)
		return detect.Process{}
	}
	core.ProcessFromSpec(f, what, bytes.NewReader(spec.GetValue()))
	return f.Process
}
