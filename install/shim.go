package install

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/execguard/execguard/install/containerd"
	"github.com/execguard/execguard/install/fsplan"
)

// The containerd library the shim is built on, and the containerd releases
// it was run with end to end.
const ShimBuiltAgainst = "v2.2.9"

// ShimTestedWith lists the containerd releases the shim was tested with.
var ShimTestedWith = []string{"v2.2.9", "v1.7.35"}

// ShimStatus is what the installed shim binary says about itself.
type ShimStatus struct {
	Path      string `json:"path"`
	Installed bool   `json:"installed"`
	// Execguard is execguard's version from the binary's build information
	// (the -X main.buildVersion the Makefile sets, else the VCS revision).
	Execguard string `json:"execguard,omitempty"`
	// Containerd is the containerd module the binary links.
	Containerd string `json:"containerd,omitempty"`
	GoVersion  string `json:"go_version,omitempty"`
	// Version is what `containerd-shim-execguard-v2 -v` prints (containerd's
	// shim version lines), when the node is this machine.
	Version      string   `json:"version,omitempty"`
	BuiltAgainst string   `json:"built_against"`
	TestedWith   []string `json:"tested_with"`
	Error        string   `json:"error,omitempty"`
}

var buildVersionFlag = regexp.MustCompile(`main\.buildVersion=(\S+)`)

// shimStatus reads the shim's build information and runs it with -v (the
// shim is a static Go program that prints and exits; run from a DaemonSet
// it is the host's file under Root). Neither may fail the status: what is
// not known stays empty and the reason goes to Error.
func shimStatus(host fsplan.Host, path string) ShimStatus {
	s := ShimStatus{Path: path, BuiltAgainst: ShimBuiltAgainst, TestedWith: ShimTestedWith}
	if !host.Exists(path) {
		return s
	}
	s.Installed = true
	var errs []string
	real, err := host.Resolve(path)
	if err != nil {
		real = path
	}
	if bi, err := buildinfo.ReadFile(host.Local(real)); err != nil {
		errs = append(errs, fmt.Sprintf("no Go build information: %v", err))
	} else {
		s.GoVersion = bi.GoVersion
		if bi.Main.Path == "github.com/containerd/containerd/v2" {
			s.Containerd = bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/containerd/containerd/v2" {
				s.Containerd = d.Version
				if d.Replace != nil {
					s.Containerd = d.Replace.Version
				}
			}
		}
		var rev, dirty string
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "-ldflags":
				if m := buildVersionFlag.FindStringSubmatch(kv.Value); m != nil {
					s.Execguard = m[1]
				}
			case "vcs.revision":
				rev = kv.Value
			case "vcs.modified":
				if kv.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if s.Execguard == "" && strings.HasPrefix(bi.Main.Path, "github.com/execguard/") {
			switch {
			case bi.Main.Version != "" && bi.Main.Version != "(devel)":
				s.Execguard = bi.Main.Version
			case rev != "":
				s.Execguard = fmt.Sprintf("%.12s%s", rev, dirty)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, host.Local(path), "-v").CombinedOutput(); err != nil {
		errs = append(errs, fmt.Sprintf("%s -v: %v", path, err))
	} else {
		s.Version = strings.Join(strings.Fields(string(out)), " ")
	}
	s.Error = strings.Join(errs, "; ")
	return s
}

// testedWith reports whether the containerd release v (e.g. v2.2.9) is
// one the shim was tested with.
func testedWith(v string) bool {
	v = "v" + strings.TrimPrefix(v, "v")
	for _, t := range ShimTestedWith {
		if v == t || strings.HasPrefix(v, t+"+") || strings.HasPrefix(v, t+"-") {
			return true
		}
	}
	return false
}

// shimUsed reports whether any containerd handler runs the shim.
func shimUsed(engines []EngineStatus) bool {
	for _, e := range engines {
		for _, h := range e.Handlers {
			if h.Front == FrontShim || h.Front == frontBoth {
				return true
			}
		}
	}
	return false
}

// handlerShim is the shim binary a handler starts: runtime_path, else the
// name containerd derives from the type, looked up in the host's PATH.
func handlerShim(host fsplan.Host, h containerd.Handler) string {
	s := h.Shim()
	if s == "" || strings.Contains(s, "/") {
		return s
	}
	if p, err := host.LookPath(s); err == nil {
		return p
	}
	return s
}
