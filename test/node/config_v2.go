package node

import (
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// defaultRuntimeType is the runc handler's runtime_type when configParams
// names none: containerd's own runc shim.
const defaultRuntimeType = "io.containerd.runc.v2"

// containerdConfigV2 renders a version 2 config, the newest containerd 1.7
// reads, with the same node as containerdConfig: CRI and NRI on, one runc
// handler whose every runtime call goes through RuntimeBinary. In version 2
// CRI is one plugin, io.containerd.grpc.v1.cri, for both images and runtime.
func containerdConfigV2(l layout, p configParams) (string, error) {
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
	q := func(s string) string { return "'" + s + "'" }
	const cri = `[plugins."io.containerd.grpc.v1.cri"`
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("version = 2")
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
	w("%s]", cri)
	w("  sandbox_image = %s", q(p.SandboxImage))
	// The shim cannot lower oom_score_adj without CAP_SYS_RESOURCE.
	w("  restrict_oom_score_adj = true")
	w("  cdi_spec_dirs = [%s]", q(l.path("cdi")))
	w("%s.containerd]", cri)
	w("  snapshotter = %s", q(p.Snapshotter))
	w("  default_runtime_name = 'runc'")
	w("%s.containerd.runtimes.runc]", cri)
	w("  runtime_type = %s", q(runtimeType))
	if p.ShimPath != "" {
		w("  runtime_path = %s", q(p.ShimPath))
	}
	w("%s.containerd.runtimes.runc.options]", cri)
	w("  BinaryName = %s", q(p.RuntimeBinary))
	// Without Root the shim uses /run/containerd/runc.
	w("  Root = %s", q(l.runcRoot()))
	for _, kv := range runcOptions {
		w("  %s", kv)
	}
	w("%s.cni]", cri)
	w("  bin_dir = %s", q(l.path("cni", "bin")))
	w("  conf_dir = %s", q(l.path("cni", "net.d")))
	w("")
	w(`[plugins."io.containerd.nri.v1.nri"]`)
	w("  disable = false")
	w("  socket_path = %s", q(l.nriSocket()))
	w("  plugin_path = %s", q(l.path("nri", "plugins")))
	w("  plugin_config_path = %s", q(l.path("nri", "conf.d")))
	w("")
	// Imports through the transfer service unpack for this snapshotter.
	w(`[[plugins."io.containerd.transfer.v1.local".unpack_config]]`)
	w("  platform = %s", q("linux/"+runtime.GOARCH))
	w("  snapshotter = %s", q(p.Snapshotter))
	w("")
	w(`[plugins."io.containerd.internal.v1.opt"]`)
	w("  path = %s", q(l.path("opt")))
	return b.String(), nil
}

// tomlOptions renders extra runtime options as sorted `Key = value` lines.
// The keys the node sets itself cannot be overridden.
func tomlOptions(opts map[string]any, reserved ...string) ([]string, error) {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var lines []string
	for _, k := range keys {
		if k == "" || strings.Trim(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			return nil, fmt.Errorf("runtime option %q is not a bare TOML key", k)
		}
		for _, r := range reserved {
			if k == r {
				return nil, fmt.Errorf("runtime option %s is set by the node", k)
			}
		}
		var v string
		switch x := opts[k].(type) {
		case string:
			if strings.ContainsAny(x, "'\n") {
				return nil, fmt.Errorf("runtime option %s: value %q cannot be a TOML literal string", k, x)
			}
			v = "'" + x + "'"
		case bool:
			v = strconv.FormatBool(x)
		case int:
			v = strconv.Itoa(x)
		case int64:
			v = strconv.FormatInt(x, 10)
		default:
			return nil, fmt.Errorf("runtime option %s: unsupported value type %T", k, x)
		}
		lines = append(lines, k+" = "+v)
	}
	return lines, nil
}
