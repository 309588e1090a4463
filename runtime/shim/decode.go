package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
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

// decodeBounded decodes a JSON document of at most core.MaxSpecBytes; what
// names it in errors.
func decodeBounded(what string, data []byte, v any) error {
	if len(data) > core.MaxSpecBytes {
		return fmt.Errorf("%s: larger than %d bytes", what, core.MaxSpecBytes)
	}
	if len(data) == 0 {
		return fmt.Errorf("%s: empty", what)
	}
	if err := json.Unmarshal(data, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%s: malformed JSON at byte %d: %w", what, se.Offset, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// bundleConfig is what a container start is decided from: its bundle's
// config.json, read from path.
type bundleConfig struct {
	Process     *specs.Process    `json:"process"`
	Annotations map[string]string `json:"annotations"`
}

// applyBundleConfig sets a container start's process and container facts
// from the bundle config at path (its content data, or readErr); problems
// are recorded in f.
func applyBundleConfig(f *detect.Facts, path string, data []byte, readErr error) {
	if readErr != nil {
		f.AddProblem("bundle config: %v", readErr)
		return
	}
	var cfg bundleConfig
	if err := decodeBounded(path, data, &cfg); err != nil {
		f.AddProblem("bundle config: %v", err)
		return
	}
	if cfg.Process == nil {
		f.AddProblem("bundle config %s: no process", path)
	} else {
		f.Process = core.FromSpec(cfg.Process)
	}
	detect.ApplyAnnotations(&f.Container, cfg.Annotations)
}

// execProcess decodes an exec request's process spec: an Any whose value is
// the OCI process as JSON. A spec that cannot be read leaves the process
// unknown, with the problem recorded.
func execProcess(f *detect.Facts, spec *anypb.Any) detect.Process {
	if spec == nil {
		f.AddProblem("process spec: missing from the exec request")
		return detect.Process{}
	}
	var p specs.Process
	if err := decodeBounded("process spec ("+spec.GetTypeUrl()+")", spec.GetValue(), &p); err != nil {
		f.AddProblem("%v", err)
		return detect.Process{}
	}
	return core.FromSpec(&p)
}
