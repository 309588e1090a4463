package node

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
)

// layout names every path a node owns; all of them live under Dir so that a
// node never touches a system containerd's files.
type layout struct {
	Dir string
}

func (l layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.Dir}, elem...)...)
}

func (l layout) configFile() string   { return l.path("containerd.toml") }
func (l layout) logFile() string      { return l.path("containerd.log") }
func (l layout) root() string         { return l.path("root") }
func (l layout) state() string        { return l.path("state") }
func (l layout) socket() string       { return l.path("containerd.sock") }
func (l layout) ttrpcSocket() string  { return l.path("containerd.sock.ttrpc") }
func (l layout) nriSocket() string    { return l.path("nri", "nri.sock") }
func (l layout) runcRoot() string     { return l.path("state", "runc") }
func (l layout) crictlConfig() string { return l.path("crictl.yaml") }
func (l layout) podsDir() string      { return l.path("pods") }
func (l layout) imageArchive() string { return l.path("images.tar") }

// configParams is what varies between nodes in the containerd config.
type configParams struct {
	RuntimeBinary string // options.BinaryName of the runc handler
	ShimPath      string // the runc handler's runtime_path: execguard's shim; "" for containerd's runc shim
	Snapshotter   string
	SandboxImage  string
	// RuntimeType is the runc handler's runtime_type (default
	// io.containerd.runc.v2, as execguard install sets it for its shim) and
	// RuncOptions are options beside BinaryName and Root.
	RuntimeType string
	RuncOptions map[string]any
}

// containerdConfig renders a version 3 config: CRI and NRI on, one runc
// handler whose every runtime call goes through RuntimeBinary.
func containerdConfig(l layout, p configParams) (string, error) {
	q := func(s string) string {
		return "'" + s + "'"
	}
	runtimeType := p.RuntimeType
	if runtimeType == "" {
		runtimeType = defaultRuntimeType
	}
	for _, s := range []string{l.Dir, p.RuntimeBinary, p.ShimPath, p.Snapshotter, p.SandboxImage, runtimeType} {
		if strings.ContainsAny(s, "'\n") {
			return "", fmt.Errorf("containerd config: value %q cannot be a TOML literal string", s)
		}
	}
	runcOptions, err := tomlOptions(p.RuncOptions, "BinaryName", "Root")
	if err != nil {
		return "", fmt.Errorf("containerd config: %w", err)
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("version = 3")
	w("root = %s", q(l.root()))
	w("state = %s", q(l.state()))
	w("temp = %s", q(l.path("tmp")))
	// An empty imports list keeps /etc/containerd/conf.d out of the node.
	w("imports = []")
	w("")
	w("[grpc]")
	w("  address = %s", q(l.socket()))
	w("[ttrpc]")
	w("  address = %s", q(l.ttrpcSocket()))
	w("")
	w("[plugins.'io.containerd.cri.v1.images']")
	w("  snapshotter = %s", q(p.Snapshotter))
	w("[plugins.'io.containerd.cri.v1.images'.pinned_images]")
	w("  sandbox = %s", q(p.SandboxImage))
	w("")
	w("[plugins.'io.containerd.cri.v1.runtime']")
	// The shim cannot lower oom_score_adj without CAP_SYS_RESOURCE.
	w("  restrict_oom_score_adj = true")
	w("  cdi_spec_dirs = [%s]", q(l.path("cdi")))
	w("[plugins.'io.containerd.cri.v1.runtime'.containerd]")
	w("  default_runtime_name = 'runc'")
	w("[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]")
	w("  runtime_type = %s", q(runtimeType))
	if p.ShimPath != "" {
		w("  runtime_path = %s", q(p.ShimPath))
	}
	w("[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]")
	w("  BinaryName = %s", q(p.RuntimeBinary))
	// Without Root the shim uses /run/containerd/runc.
	w("  Root = %s", q(l.runcRoot()))
	for _, kv := range runcOptions {
		w("  %s", kv)
	}
	w("[plugins.'io.containerd.cri.v1.runtime'.cni]")
	w("  bin_dirs = [%s]", q(l.path("cni", "bin")))
	w("  conf_dir = %s", q(l.path("cni", "net.d")))
	w("")
	w("[plugins.'io.containerd.nri.v1.nri']")
	w("  disable = false")
	w("  socket_path = %s", q(l.nriSocket()))
	w("  plugin_path = %s", q(l.path("nri", "plugins")))
	w("  plugin_config_path = %s", q(l.path("nri", "conf.d")))
	w("")
	// Imports through the transfer service unpack for this snapshotter.
	w("[[plugins.'io.containerd.transfer.v1.local'.unpack_config]]")
	w("  platform = %s", q("linux/"+runtime.GOARCH))
	w("  snapshotter = %s", q(p.Snapshotter))
	w("")
	w("[plugins.'io.containerd.internal.v1.opt']")
	w("  path = %s", q(l.path("opt")))
	w("[plugins.'io.containerd.image-verifier.v1.bindir']")
	w("  bin_dir = %s", q(l.path("opt", "image-verifier", "bin")))
	return b.String(), nil
}

// crictlConfig points crictl at the node and nothing else.
func crictlConfig(l layout) string {
	endpoint := "unix://" + l.socket()
	return fmt.Sprintf("runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 60\ndebug: false\npull-image-on-create: false\n",
		endpoint, endpoint)
}
