package crionode

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// layout names every path a node owns; all of them live under Dir so that a
// node never touches a system CRI-O's files.
type layout struct {
	Dir string
}

func (l layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.Dir}, elem...)...)
}

func (l layout) configFile() string          { return l.path("crio.conf") }
func (l layout) configDir() string           { return l.path("crio.conf.d") }
func (l layout) logFile() string             { return l.path("crio.log") }
func (l layout) root() string                { return l.path("root") }
func (l layout) runRoot() string             { return l.path("runroot") }
func (l layout) socket() string              { return l.path("crio.sock") }
func (l layout) nriSocket() string           { return l.path("nri", "nri.sock") }
func (l layout) runtimeRoot(h string) string { return l.path("runtime", h) }
func (l layout) crictlConfig() string        { return l.path("crictl.yaml") }
func (l layout) podsDir() string             { return l.path("pods") }
func (l layout) signaturePolicy() string     { return l.path("policy.json") }
func (l layout) storageConf() string         { return l.path("storage.conf") }
func (l layout) registriesConf() string      { return l.path("registries.conf") }
func (l layout) tmp() string                 { return l.path("tmp") }

// dirs are the directories a node creates before CRI-O starts.
func (l layout) dirs() []string {
	return []string{l.Dir, l.configDir(), l.root(), l.runRoot(), l.tmp(), l.podsDir(),
		l.path("logs"), l.path("exits"), l.path("attach"), l.path("ns"), l.path("runtime"),
		l.path("nri"), l.path("nri", "plugins"), l.path("nri", "conf.d"),
		l.path("cni", "net.d"), l.path("cni", "bin"), l.path("lib")}
}

// configParams is what varies between nodes in the CRI-O config.
type configParams struct {
	// RuntimePaths maps each runtime handler to its runtime_path.
	RuntimePaths   map[string]string
	DefaultRuntime string
	Conmon         string
	Pinns          string
	StorageDriver  string
	PauseImage     string
	LogLevel       string
}

// crioConfig renders CRI-O's main configuration: every path CRI-O writes
// under the node directory, cgroupfs, host-network pods only (an empty CNI
// directory), NRI on its own socket, and one oci handler per runtime path
// whose calls are monitored by conmon.
func crioConfig(l layout, p configParams) (string, error) {
	if _, ok := p.RuntimePaths[p.DefaultRuntime]; !ok {
		return "", fmt.Errorf("CRI-O config: default runtime %q has no runtime path", p.DefaultRuntime)
	}
	names := make([]string, 0, len(p.RuntimePaths))
	for name := range p.RuntimePaths {
		names = append(names, name)
	}
	sort.Strings(names)
	values := []string{l.Dir, p.Conmon, p.Pinns, p.StorageDriver, p.PauseImage, p.LogLevel}
	for _, name := range names {
		if strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" || name == "" {
			return "", fmt.Errorf("CRI-O config: runtime handler name %q is not a bare TOML key", name)
		}
		values = append(values, p.RuntimePaths[name])
	}
	for _, s := range values {
		if strings.ContainsAny(s, "'\n") {
			return "", fmt.Errorf("CRI-O config: value %q cannot be a TOML literal string", s)
		}
	}
	q := func(s string) string { return "'" + s + "'" }
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("[crio]")
	w("root = %s", q(l.root()))
	w("runroot = %s", q(l.runRoot()))
	w("storage_driver = %s", q(p.StorageDriver))
	w("log_dir = %s", q(l.path("logs")))
	w("version_file = %s", q(l.path("version")))
	w("version_file_persist = %s", q(l.path("lib", "version")))
	w("clean_shutdown_file = %s", q(l.path("lib", "clean.shutdown")))
	w("")
	w("[crio.api]")
	w("listen = %s", q(l.socket()))
	w("stream_address = '127.0.0.1'")
	w("stream_port = '0'")
	w("")
	w("[crio.runtime]")
	w("default_runtime = %s", q(p.DefaultRuntime))
	w("cgroup_manager = 'cgroupfs'")
	w("log_level = %s", q(p.LogLevel))
	w("container_exits_dir = %s", q(l.path("exits")))
	w("container_attach_socket_dir = %s", q(l.path("attach")))
	w("namespaces_dir = %s", q(l.path("ns")))
	w("pinns_path = %s", q(p.Pinns))
	w("decryption_keys_path = %s", q(l.path("keys")))
	w("hooks_dir = []")
	w("cdi_spec_dirs = []")
	w("default_mounts_file = ''")
	w("irqbalance_config_file = %s", q(l.path("lib", "irqbalance")))
	// CRI-O would otherwise rewrite the system's irqbalance configuration.
	w("irqbalance_config_restore_file = 'disable'")
	w("apparmor_profile = 'unconfined'")
	w("selinux = false")
	for _, name := range names {
		w("")
		w("[crio.runtime.runtimes.%s]", name)
		w("runtime_path = %s", q(p.RuntimePaths[name]))
		w("runtime_type = 'oci'")
		w("runtime_root = %s", q(l.runtimeRoot(name)))
		w("monitor_path = %s", q(p.Conmon))
		// With cgroupfs conmon goes into the pod's cgroup, under the node's
		// cgroup parent, which Close removes.
		w("monitor_cgroup = 'pod'")
		w("monitor_env = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']")
	}
	w("")
	w("[crio.image]")
	w("signature_policy = %s", q(l.signaturePolicy()))
	w("signature_policy_dir = %s", q(l.path("policies")))
	w("pause_image = %s", q(p.PauseImage))
	// The pause image's own entrypoint (no /pause in it).
	w("pause_command = ''")
	w("short_name_mode = 'disabled'")
	// CRI-O creates this directory at start (default /etc/crio/auth).
	w("namespaced_auth_dir = %s", q(l.path("auth")))
	w("big_files_temporary_dir = %s", q(l.tmp()))
	w("")
	w("[crio.network]")
	w("network_dir = %s", q(l.path("cni", "net.d")))
	w("plugin_dirs = [%s]", q(l.path("cni", "bin")))
	w("")
	w("[crio.metrics]")
	w("enable_metrics = false")
	w("")
	w("[crio.nri]")
	w("enable_nri = true")
	w("nri_listen = %s", q(l.nriSocket()))
	w("nri_plugin_dir = %s", q(l.path("nri", "plugins")))
	w("nri_plugin_config_dir = %s", q(l.path("nri", "conf.d")))
	return b.String(), nil
}

// signaturePolicy accepts every image: the images are built locally.
const signaturePolicy = `{"default": [{"type": "insecureAcceptAnything"}]}` + "\n"

// storageConf keeps containers/storage (CRI-O and copyimg) off the system's
// storage.conf and its additional image stores.
func storageConf(l layout, driver string) string {
	return fmt.Sprintf("[storage]\ndriver = %q\ngraphroot = %q\nrunroot = %q\n", driver, l.root(), l.runRoot())
}

// registriesConf names no registry: every image is local.
const registriesConf = "unqualified-search-registries = []\n"

// crictlConfig points crictl at the node and nothing else.
func crictlConfig(l layout) string {
	endpoint := "unix://" + l.socket()
	return fmt.Sprintf("runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 60\ndebug: false\npull-image-on-create: false\n",
		endpoint, endpoint)
}
