package kube

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// kubeconfig renders a kubeconfig that authenticates with a client
// certificate against server.
func kubeconfig(server, caFile, certFile, keyFile string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: execguard-e2e
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: user
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: execguard-e2e
  context:
    cluster: execguard-e2e
    user: user
current-context: execguard-e2e
`, server, caFile, certFile, keyFile)
}

// kubeletConfigParams is what varies in the kubelet's configuration.
type kubeletConfigParams struct {
	NodeIP        string
	Port          int
	HealthzPort   int
	CRISocket     string
	CgroupRoot    string
	PodLogsDir    string
	CAFile        string
	TLSCertFile   string
	TLSKeyFile    string
	ResolvConf    string
	ClusterDomain string
}

// kubeletConfig renders a KubeletConfiguration. The kubelet listens on the
// node IP (it refuses a loopback one and the apiserver dials the node's
// InternalIP), with client certificates required and anonymous access off.
// Image GC is off because the imported images cannot be pulled again, and
// iptables chains are not made: the host's firewall stays as it was.
func kubeletConfig(p kubeletConfigParams) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %s
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
containerRuntimeEndpoint: unix://%s
imageServiceEndpoint: unix://%s
cgroupDriver: cgroupfs
cgroupRoot: %s
cgroupsPerQOS: true
failCgroupV1: false
failSwapOn: false
makeIPTablesUtilChains: false
podLogsDir: %s
tlsCertFile: %s
tlsPrivateKeyFile: %s
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: %s
authorization:
  mode: Webhook
clusterDomain: %s
resolvConf: %s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%%
  imagefs.available: 1%%
  nodefs.inodesFree: 1%%
`, p.NodeIP, p.Port, p.HealthzPort, p.CRISocket, p.CRISocket, p.CgroupRoot, p.PodLogsDir,
		p.TLSCertFile, p.TLSKeyFile, p.CAFile, p.ClusterDomain, p.ResolvConf)
}

// kernelTunables are the sysctls the kubelet's container manager sets
// host-wide when they differ from these values (setupKernelTunables). In the
// kubelet's mount namespace each is covered by a read-only file holding
// exactly this value, so the kubelet reads what it wants and writes nothing.
func kernelTunables() map[string]string {
	return map[string]string{
		"/proc/sys/vm/overcommit_memory":      "1",
		"/proc/sys/vm/panic_on_oom":           "0",
		"/proc/sys/kernel/panic":              "10",
		"/proc/sys/kernel/panic_on_oops":      "1",
		"/proc/sys/kernel/keys/root_maxkeys":  "1000000",
		"/proc/sys/kernel/keys/root_maxbytes": "25000000",
	}
}

// hardCodedDirs are paths the kubelet writes whatever its flags
// (device-plugin socket and checkpoint; legacy container log links); each
// gets a tmpfs in the kubelet's mount namespace.
func hardCodedDirs() []string {
	return []string{"/var/lib/kubelet", "/var/log/containers"}
}

// hugepagesDir lists the huge page sizes. The kubelet gives every
// container a limit of 0 for each size it finds there; CRI-O passes those
// limits to runc whenever the kernel has the hugetlb controller, and runc
// fails the container when, as on a hybrid cgroup layout, that controller
// has no v1 hierarchy mounted (containerd drops them instead). Hidden from
// a kubelet in front of CRI-O by an empty directory over it.
const hugepagesDir = "/sys/kernel/mm/hugepages"

// mountPoint is how a hard-coded directory gets its tmpfs without a change
// on the host: over the directory when it exists, else in an overlay of its
// parent whose upper layer is the cluster's (the directory is made there).
type mountPoint struct {
	Dir         string
	Upper, Work string // set when Dir does not exist on the host
}

// launcherScript is run by `unshare --mount --propagation private` as
// `sh -c script sh <kubelet> <args>...`: it covers the tunables and
// hard-coded directories, then becomes the kubelet. binds maps each
// tunable to the file holding its value.
func launcherScript(binds map[string]string, mounts []mountPoint, hidden ...string) string {
	var b strings.Builder
	b.WriteString("set -eu\n")
	targets := make([]string, 0, len(binds))
	for target := range binds {
		targets = append(targets, target)
	}
	sort.Strings(targets)
	for _, target := range targets {
		fmt.Fprintf(&b, "mount --bind %s %s\nmount -o remount,bind,ro %s\n", shQuote(binds[target]), shQuote(target), shQuote(target))
	}
	for _, m := range mounts {
		if m.Upper != "" {
			parent := filepath.Dir(m.Dir)
			fmt.Fprintf(&b, "mount -t overlay overlay -o %s %s\nmkdir %s\n",
				shQuote(fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", parent, m.Upper, m.Work)), shQuote(parent), shQuote(m.Dir))
		}
		fmt.Fprintf(&b, "mount -t tmpfs -o mode=0755,size=64m tmpfs %s\n", shQuote(m.Dir))
	}
	for _, d := range hidden {
		fmt.Fprintf(&b, "mount -t tmpfs -o ro,mode=0755,size=4k tmpfs %s\n", shQuote(d))
	}
	b.WriteString("exec \"$@\"\n")
	return b.String()
}

func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func writeFile(file, content string) error {
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}
