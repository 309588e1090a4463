// Package kube runs a private single-node Kubernetes for execguard's
// end-to-end tests: etcd, kube-apiserver, kube-scheduler and a kubelet in
// front of a test/node containerd or a test/crionode CRI-O (its CRI
// socket). There is no controller-manager; the little of its work the tests
// need is done here: namespaces get a default service account (without
// token automount), the node's not-ready taint is lifted, and a DaemonSet's
// pod is made from its template and deleted after it (RunDaemonSet,
// DeleteOwnedPods). Pods use the host network, so no CNI
// is needed (the node stays NotReady, which host-network pods ignore).
//
// Everything lives under one directory, on ports picked free at start, with
// its own certificates and kubeconfigs; kubectl is always called with the
// cluster's kubeconfig, so a cluster already on the machine is never
// touched. The kubelet runs in a private mount namespace where the host
// sysctls it would rewrite are read-only files and its hard-coded
// directories are tmpfs (made, when absent, in an overlay of their parent,
// never on the host); its mounts go with it. Close leaves no process,
// mount, cgroup or sysctl change behind.
package kube

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/test/crionode"
	"github.com/execguard/execguard/test/node"
)

// Version is the Kubernetes version test/setup-node.sh builds.
const Version = "v1.34.4"

// BinDirEnv overrides DefaultBinDir, as KUBERNETES_BIN_DIR does for
// test/setup-node.sh.
const BinDirEnv = "KUBERNETES_BIN_DIR"

// DefaultBinDir is where test/setup-node.sh installs etcd, kube-apiserver,
// kubelet, kube-scheduler and kubectl.
const DefaultBinDir = "/usr/local/lib/execguard-e2e/kubernetes-" + Version + "/bin"

// Options configure a cluster.
type Options struct {
	// Node is the running containerd node the kubelet drives; CRIO a
	// running CRI-O instead (one of them is required). The caller closes it
	// after the cluster.
	Node *node.Node
	CRIO *crionode.Node
	// Dir holds everything the cluster owns; created when empty. Close removes it.
	Dir string
	// BinDir holds etcd, kube-apiserver, kubelet, kube-scheduler and kubectl
	// (default $KUBERNETES_BIN_DIR, else DefaultBinDir).
	BinDir string
	// NodeName is the Kubernetes node name (default execguard-e2e-node).
	NodeName string
	// NodeIP is the kubelet's address (default the first non-loopback IPv4
	// address of an interface that is up).
	NodeIP string
	// StartTimeout bounds the start until the node is registered (default 2m).
	StartTimeout time.Duration
	// CommandTimeout bounds each kubectl call (default 2m).
	CommandTimeout time.Duration
	// AuditLog makes the apiserver write an audit log (audit.go).
	AuditLog bool
	// APIServerArgs are more kube-apiserver flags, after the harness's own.
	APIServerArgs []string
}

// Cluster is a running single-node Kubernetes.
type Cluster struct {
	// Dir is the cluster's directory.
	Dir string
	// Kubeconfig is the admin kubeconfig (group system:masters).
	Kubeconfig string
	// Server is the apiserver's URL.
	Server string
	// NodeName and NodeIP are the kubelet's node.
	NodeName, NodeIP string
	// CgroupRoot is the kubelet's cgroup root, under every hierarchy.
	CgroupRoot string
	// AuditLog is the apiserver's audit log (JSON lines) when
	// Options.AuditLog is set, else empty.
	AuditLog string

	opts   Options
	engine *engine
	bins   map[string]string
	script string // the script(1) binary

	mu         sync.Mutex
	components []*component // in start order
	closed     bool
}

// component is one running process of the cluster.
type component struct {
	name    string
	cmd     *exec.Cmd
	logFile string
	exited  chan struct{}
}

func (c *component) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

func binaries() []string {
	return []string{"etcd", "kube-apiserver", "kubelet", "kube-scheduler", "kubectl"}
}

// Start starts etcd, the apiserver, the scheduler and the kubelet and waits
// until the node is registered and schedulable. On error nothing is left
// running, and the error names the component that failed with the tail of
// its log.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	var eng *engine
	switch {
	case opts.Node != nil && opts.CRIO != nil:
		return nil, errors.New("start cluster: a containerd node and a CRI-O node: want one")
	case opts.Node != nil:
		eng = containerdEngine(opts.Node)
	case opts.CRIO != nil:
		eng = crioEngine(opts.CRIO)
	default:
		return nil, errors.New("start cluster: no node")
	}
	if opts.BinDir == "" {
		opts.BinDir = os.Getenv(BinDirEnv)
	}
	if opts.BinDir == "" {
		opts.BinDir = DefaultBinDir
	}
	if opts.NodeName == "" {
		opts.NodeName = "execguard-e2e-node"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	if opts.CommandTimeout == 0 {
		opts.CommandTimeout = 2 * time.Minute
	}
	bins, err := FindBinaries(opts.BinDir)
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	script, err := exec.LookPath("script")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/script"); serr != nil {
			return nil, fmt.Errorf("start cluster: script(1) not found: %w", err)
		}
		script = "/usr/bin/script"
	}
	if opts.NodeIP == "" {
		if opts.NodeIP, err = hostIP(); err != nil {
			return nil, fmt.Errorf("start cluster: %w", err)
		}
	}
	if opts.Dir == "" {
		if opts.Dir, err = os.MkdirTemp("", "egkube-"); err != nil {
			return nil, fmt.Errorf("start cluster: %w", err)
		}
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	c := &Cluster{
		Dir:        dir,
		Kubeconfig: filepath.Join(dir, "admin.kubeconfig"),
		NodeName:   opts.NodeName,
		NodeIP:     opts.NodeIP,
		CgroupRoot: CgroupRoot(dir),
		opts:       opts,
		engine:     eng,
		bins:       bins,
		script:     script,
	}
	if err := c.start(ctx); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

// CgroupRoot is the kubelet's cgroup root for a cluster directory, named
// after it so that clusters stay apart.
func CgroupRoot(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return "/egkube-" + hex.EncodeToString(sum[:6])
}

// FindBinaries returns the paths of the cluster's binaries in dir, or an
// error naming those missing.
func FindBinaries(dir string) (map[string]string, error) {
	bins := map[string]string{}
	var missing []string
	for _, b := range binaries() {
		p := filepath.Join(dir, b)
		if unix.Access(p, unix.X_OK) != nil {
			missing = append(missing, b)
			continue
		}
		bins[b] = p
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s missing in %s (run test/setup-node.sh as root, or set %s)",
			strings.Join(missing, ", "), dir, BinDirEnv)
	}
	return bins, nil
}

// hostIP is the first IPv4 address, not loopback, of an interface that is up.
func hostIP() (string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", fmt.Errorf("list interfaces: %w", err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
				return ipn.IP.String(), nil
			}
		}
	}
	return "", errors.New("no non-loopback IPv4 address for the kubelet (set Options.NodeIP)")
}

// freePorts picks n distinct free TCP ports on host, holding all of them
// open until every one is chosen.
func freePorts(host string, n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("pick a free port on %s: %w", host, err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func (c *Cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.Dir}, elem...)...)
}

func (c *Cluster) start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.StartTimeout)
	defer cancel()
	n := c.engine
	if _, err := n.crictl("inspecti", node.BusyboxImage); err != nil {
		return fmt.Errorf("start cluster: image %s not imported in the node's %s: %w\n%s log tail:\n%s", node.BusyboxImage, n.name, err, n.name, n.log(20))
	}
	for _, d := range []string{c.Dir, c.path("pki"), c.path("etcd"), c.path("kubelet"), c.path("kubelet", "pki"),
		c.path("pod-logs"), c.path("tunables"), c.path("apiserver-certs"), c.path("kubectl-cache")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("start cluster: %w", err)
		}
	}
	local, err := freePorts("127.0.0.1", 5)
	if err != nil {
		return fmt.Errorf("start cluster: %w", err)
	}
	nodePorts, err := freePorts(c.NodeIP, 1)
	if err != nil {
		return fmt.Errorf("start cluster: %w", err)
	}
	etcdPort, peerPort, apiPort, schedPort, kubeletHealthz := local[0], local[1], local[2], local[3], local[4]
	kubeletPort := nodePorts[0]
	c.Server = "https://127.0.0.1:" + strconv.Itoa(apiPort)

	pki := c.path("pki")
	ca, err := newCA(pki)
	if err != nil {
		return fmt.Errorf("start cluster: %w", err)
	}
	nodeIP := net.ParseIP(c.NodeIP)
	specs := []certSpec{
		{name: "apiserver", cn: "kube-apiserver", server: true,
			dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			ips: []net.IP{net.IPv4(127, 0, 0, 1), nodeIP, net.IPv4(10, 0, 0, 1)}},
		{name: "apiserver-kubelet-client", cn: "kube-apiserver-kubelet-client", orgs: []string{"system:masters"}, client: true},
		{name: "admin", cn: "execguard-e2e-admin", orgs: []string{"system:masters"}, client: true},
		{name: "kubelet-client", cn: "system:node:" + c.NodeName, orgs: []string{"system:nodes"}, client: true},
		{name: "kubelet-serving", cn: c.NodeName, server: true, ips: []net.IP{nodeIP}, dns: []string{c.NodeName}},
		{name: "scheduler", cn: "system:kube-scheduler", client: true},
	}
	certs := map[string][2]string{}
	for i, s := range specs {
		crt, key, err := ca.issue(pki, int64(i+2), s)
		if err != nil {
			return fmt.Errorf("start cluster: %w", err)
		}
		certs[s.name] = [2]string{crt, key}
	}
	saPub, saKey, err := writeKeyPair(pki, "service-account")
	if err != nil {
		return fmt.Errorf("start cluster: %w", err)
	}
	kubeletKubeconfig, schedKubeconfig := c.path("kubelet.kubeconfig"), c.path("scheduler.kubeconfig")
	for file, cert := range map[string][2]string{
		c.Kubeconfig:      certs["admin"],
		kubeletKubeconfig: certs["kubelet-client"],
		schedKubeconfig:   certs["scheduler"],
	} {
		if err := writeFile(file, kubeconfig(c.Server, ca.file, cert[0], cert[1])); err != nil {
			return fmt.Errorf("start cluster: %w", err)
		}
	}

	// etcd
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	etcd, err := c.launch("etcd", c.bins["etcd"], "--name", "egkube", "--data-dir", c.path("etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "egkube="+peerURL, "--log-level", "warn")
	if err != nil {
		return err
	}
	if err := c.waitHTTP(ctx, etcd, etcdURL+"/health", nil, func(b []byte) bool {
		return bytes.Contains(b, []byte(`"health":"true"`))
	}); err != nil {
		return err
	}

	// kube-apiserver
	extra, err := c.apiServerExtraArgs()
	if err != nil {
		return fmt.Errorf("start cluster: %w", err)
	}
	api, err := c.launch("kube-apiserver", c.bins["kube-apiserver"], append([]string{
		"--etcd-servers", etcdURL, "--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(apiPort),
		"--advertise-address", c.NodeIP,
		"--tls-cert-file", certs["apiserver"][0], "--tls-private-key-file", certs["apiserver"][1],
		"--cert-dir", c.path("apiserver-certs"), "--client-ca-file", ca.file,
		"--kubelet-client-certificate", certs["apiserver-kubelet-client"][0],
		"--kubelet-client-key", certs["apiserver-kubelet-client"][1],
		"--kubelet-certificate-authority", ca.file,
		"--kubelet-preferred-address-types", "InternalIP",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", saPub, "--service-account-signing-key-file", saKey,
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--authorization-mode", "Node,RBAC", "--enable-admission-plugins", "NodeRestriction",
		"--allow-privileged=true", "--profiling=false"}, extra...)...)
	if err != nil {
		return err
	}
	adminTLS, err := clientTLS(ca.file, certs["admin"][0], certs["admin"][1])
	if err != nil {
		return fmt.Errorf("start cluster: %w", err)
	}
	if err := c.waitHTTP(ctx, api, c.Server+"/readyz", adminTLS, func(b []byte) bool {
		return strings.TrimSpace(string(b)) == "ok"
	}); err != nil {
		return err
	}

	// kube-scheduler
	sched, err := c.launch("kube-scheduler", c.bins["kube-scheduler"], "--kubeconfig", schedKubeconfig,
		"--leader-elect=false", "--v=2", "--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(schedPort))
	if err != nil {
		return err
	}

	// kubelet
	if err := c.makeCgroupRoot(); err != nil {
		return fmt.Errorf("start kubelet: %w", err)
	}
	mounts, err := c.mountPoints()
	if err != nil {
		return fmt.Errorf("start kubelet: %w", err)
	}
	binds := map[string]string{}
	i := 0
	for target, value := range kernelTunables() {
		if _, err := os.Stat(target); err != nil {
			continue // an absent sysctl is one the kubelet cannot write either
		}
		f := c.path("tunables", strconv.Itoa(i))
		i++
		if err := os.WriteFile(f, []byte(value+"\n"), 0o444); err != nil {
			return fmt.Errorf("start kubelet: %w", err)
		}
		binds[target] = f
	}
	kubeletCfg := c.path("kubelet.yaml")
	resolv := "/etc/resolv.conf"
	if _, err := os.Stat(resolv); err != nil {
		resolv = ""
	}
	if err := writeFile(kubeletCfg, kubeletConfig(kubeletConfigParams{
		NodeIP: c.NodeIP, Port: kubeletPort, HealthzPort: kubeletHealthz,
		CRISocket: n.socket, CgroupRoot: c.CgroupRoot, PodLogsDir: c.path("pod-logs"),
		CAFile: ca.file, TLSCertFile: certs["kubelet-serving"][0], TLSKeyFile: certs["kubelet-serving"][1],
		ResolvConf: resolv, ClusterDomain: "cluster.local",
	})); err != nil {
		return fmt.Errorf("start kubelet: %w", err)
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		unshare = "/usr/bin/unshare"
	}
	kubelet, err := c.launch("kubelet", unshare, "--mount", "--propagation", "private",
		"/bin/sh", "-c", launcherScript(binds, mounts, n.hidden...), "sh",
		c.bins["kubelet"], "--config", kubeletCfg, "--kubeconfig", kubeletKubeconfig,
		"--hostname-override", c.NodeName, "--node-ip", c.NodeIP,
		"--root-dir", c.path("kubelet"), "--cert-dir", c.path("kubelet", "pki"), "--v=2")
	if err != nil {
		return err
	}
	if err := c.waitHTTP(ctx, kubelet, "http://127.0.0.1:"+strconv.Itoa(kubeletHealthz)+"/healthz", nil, func(b []byte) bool {
		return strings.TrimSpace(string(b)) == "ok"
	}); err != nil {
		return err
	}
	if err := c.waitNode(ctx, kubelet); err != nil {
		return err
	}
	if !sched.running() {
		return c.componentError(sched, "exited")
	}
	return nil
}

// makeCgroupRoot creates the kubelet's cgroup root in every hierarchy; the
// kubelet expects it to exist. cpuset needs its cpus and mems filled in.
func (c *Cluster) makeCgroupRoot() error {
	for _, h := range cgroupHierarchies() {
		d := filepath.Join(h, c.CgroupRoot)
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create cgroup %s: %w", d, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, err := os.ReadFile(filepath.Join(h, f))
			if err != nil {
				continue
			}
			if err := os.WriteFile(filepath.Join(d, f), v, 0o644); err != nil {
				return fmt.Errorf("set %s of cgroup %s: %w", f, d, err)
			}
		}
	}
	return nil
}

// cgroupHierarchies lists the mounted cgroup hierarchies: each v1
// controller (a link such as cpu -> cpu,cpuacct counted once) and the
// unified one.
func cgroupHierarchies() []string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return []string{"/sys/fs/cgroup"}
	}
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, filepath.Join("/sys/fs/cgroup", e.Name()))
		}
	}
	return out
}

// removeCgroupTree removes the cgroup root and everything below it, deepest
// first, in every hierarchy; the processes in it must be gone.
func (c *Cluster) removeCgroupTree() error {
	var errs []error
	for _, h := range cgroupHierarchies() {
		root := filepath.Join(h, c.CgroupRoot)
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			var err error
			for range 50 { // a cgroup empties shortly after its last process exits
				if err = unix.Rmdir(d); err == nil || errors.Is(err, unix.ENOENT) {
					err = nil
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// mountPoints decides how each hard-coded directory gets its tmpfs; the
// overlay layers live in the cluster's directory.
func (c *Cluster) mountPoints() ([]mountPoint, error) {
	var out []mountPoint
	for i, d := range hardCodedDirs() {
		m := mountPoint{Dir: d}
		if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
			if st, err := os.Stat(filepath.Dir(d)); err != nil || !st.IsDir() {
				return nil, fmt.Errorf("neither %s nor its parent exists", d)
			}
			m.Upper, m.Work = c.path("overlay", strconv.Itoa(i), "upper"), c.path("overlay", strconv.Itoa(i), "work")
			for _, dir := range []string{m.Upper, m.Work} {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return nil, err
				}
			}
		} else if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// launch starts one component with its output in <dir>/<name>.log.
func (c *Cluster) launch(name, bin string, args ...string) (*component, error) {
	logFile := c.path(name + ".log")
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = c.Dir
	cmd.Env = componentEnv()
	// A test binary killed outright takes its components with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	comp := &component{name: name, cmd: cmd, logFile: logFile, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(comp.exited)
	}()
	c.mu.Lock()
	c.components = append(c.components, comp)
	c.mu.Unlock()
	return comp, nil
}

// componentEnv drops what could point a component at another cluster.
func componentEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "KUBECONFIG" || strings.HasPrefix(k, "ETCD") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func clientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	pemCA, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemCA) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load client certificate %s: %w", certFile, err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}, nil
}

// waitHTTP polls url until ok accepts a 200 answer's body, the component
// exits, or ctx ends.
func (c *Cluster) waitHTTP(ctx context.Context, comp *component, url string, tlsCfg *tls.Config, ok func([]byte) bool) error {
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	defer client.CloseIdleConnections()
	var last string
	for {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && ok(b) {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
		} else {
			last = err.Error()
		}
		select {
		case <-comp.exited:
			return c.componentError(comp, fmt.Sprintf("exited (%v) before %s answered", comp.cmd.ProcessState, url))
		case <-ctx.Done():
			return c.componentError(comp, fmt.Sprintf("not ready: %s: %s", url, last))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitNode waits until the kubelet has registered the node, then lifts the
// not-ready taint the TaintNodesByCondition admission plugin gives every
// new node (only the node lifecycle controller would).
func (c *Cluster) waitNode(ctx context.Context, kubelet *component) error {
	var last error
	for {
		out, err := c.kubectlTimeout(10*time.Second, nil, "get", "node", c.NodeName, "-o", "jsonpath={.spec.taints[*].key}")
		if err == nil {
			if !strings.Contains(out, "node.kubernetes.io/not-ready") {
				return nil
			}
			_, err = c.kubectlTimeout(10*time.Second, nil, "taint", "node", c.NodeName, "node.kubernetes.io/not-ready:NoSchedule-")
		}
		last = err
		select {
		case <-kubelet.exited:
			return c.componentError(kubelet, fmt.Sprintf("exited (%v) before node %s registered", kubelet.cmd.ProcessState, c.NodeName))
		case <-ctx.Done():
			return c.componentError(kubelet, fmt.Sprintf("node %s not registered and schedulable: %v", c.NodeName, last))
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// PIDs returns the process id of each component started so far, by name
// (etcd, kube-apiserver, kube-scheduler, kubelet).
func (c *Cluster) PIDs() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, comp := range c.components {
		out[comp.name] = comp.cmd.Process.Pid
	}
	return out
}

// componentError names the component and shows the tail of its log.
func (c *Cluster) componentError(comp *component, what string) error {
	return fmt.Errorf("%s %s\n%s log tail (%s):\n%s", comp.name, what, comp.name, comp.logFile, logTail(comp.logFile, 30))
}

// LogTail returns the last lines of one component's log (etcd,
// kube-apiserver, kube-scheduler, kubelet).
func (c *Cluster) LogTail(component string, lines int) string {
	return logTail(c.path(component+".log"), lines)
}

// LogTails returns the last lines of every component's log, for a failed test.
func (c *Cluster) LogTails(lines int) string {
	var b strings.Builder
	for _, name := range []string{"etcd", "kube-apiserver", "kube-scheduler", "kubelet"} {
		fmt.Fprintf(&b, "--- %s log tail:\n%s\n", name, c.LogTail(name, lines))
	}
	return b.String()
}

func logTail(file string, lines int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// KubectlArgv is the full argv of a kubectl call against the cluster.
func (c *Cluster) KubectlArgv(args ...string) []string {
	return append([]string{c.bins["kubectl"], "--kubeconfig", c.Kubeconfig, "--cache-dir", c.path("kubectl-cache")}, args...)
}

// Kubectl runs kubectl against the cluster and returns its stdout; the
// error carries stderr.
func (c *Cluster) Kubectl(args ...string) (string, error) {
	return c.kubectlTimeout(c.opts.CommandTimeout, nil, args...)
}

// KubectlStdin runs kubectl with stdin.
func (c *Cluster) KubectlStdin(stdin io.Reader, args ...string) (string, error) {
	return c.kubectlTimeout(c.opts.CommandTimeout, stdin, args...)
}

func (c *Cluster) kubectlTimeout(timeout time.Duration, stdin io.Reader, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	argv := c.KubectlArgv(args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = componentEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", timeout, ctx.Err())
	}
	if err != nil {
		return stdout.String(), c.withDiagnosis(fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String())))
	}
	return stdout.String(), nil
}

// CreateNamespace creates a namespace and its default service account, as
// the controller-manager would; the account does not automount a token,
// so pods need no token volume.
func (c *Cluster) CreateNamespace(name string) error {
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: %s
automountServiceAccountToken: false
`, name, name)
	if _, err := c.KubectlStdin(strings.NewReader(manifest), "apply", "-f", "-"); err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// Apply applies a manifest.
func (c *Cluster) Apply(manifest string) error {
	if _, err := c.KubectlStdin(strings.NewReader(manifest), "apply", "-f", "-"); err != nil {
		return fmt.Errorf("apply: %w\nkubelet log tail:\n%s", err, c.LogTail("kubelet", 20))
	}
	return nil
}

// WaitPodReady waits until the pod is Ready, showing the pod's status and
// the kubelet's log tail when it is not.
func (c *Cluster) WaitPodReady(namespace, pod string, timeout time.Duration) error {
	if _, err := c.kubectlTimeout(timeout+10*time.Second, nil, "-n", namespace, "wait", "--for=condition=Ready",
		"--timeout="+timeout.String(), "pod/"+pod); err != nil {
		status, _ := c.Kubectl("-n", namespace, "get", "pod", pod, "-o", "jsonpath={.status}")
		if images := c.imageProblems(namespace, pod); images != "" {
			err = fmt.Errorf("%w\n%s", err, images)
		}
		return fmt.Errorf("pod %s/%s not ready: %w\nstatus: %s\nkubelet log tail:\n%s", namespace, pod, err, status, c.LogTail("kubelet", 20))
	}
	return nil
}

// Close stops the scheduler and the kubelet, removes every pod sandbox the
// node still runs, stops the apiserver and etcd, removes the kubelet's
// cgroups and the directory. Safe to call twice.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	comps := append([]*component(nil), c.components...)
	c.mu.Unlock()

	byName := map[string]*component{}
	for _, comp := range comps {
		byName[comp.name] = comp
	}
	var errs []error
	for _, name := range []string{"kube-scheduler", "kubelet"} {
		if comp := byName[name]; comp != nil {
			errs = append(errs, stop(comp))
		}
	}
	if byName["kubelet"] != nil && c.engine != nil {
		// The kubelet's pods outlive it in the engine; their cgroups go with
		// them. Containers are killed first: CRI-O's StopPodSandbox gives
		// each a SIGTERM, which a PID 1 like sleep ignores, and waits out
		// the stop timeout.
		if err := c.engine.killContainers(); err != nil {
			errs = append(errs, fmt.Errorf("stop the kubelet's containers: %w", err))
		}
		if _, err := c.engine.crictl("rmp", "--all", "--force"); err != nil {
			errs = append(errs, fmt.Errorf("remove the kubelet's pods: %w", err))
		}
	}
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if comp := byName[name]; comp != nil {
			errs = append(errs, stop(comp))
		}
	}
	if c.CgroupRoot != "" {
		errs = append(errs, c.removeCgroupTree())
	}
	if c.Dir != "" {
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, fmt.Errorf("remove cluster dir: %w", err))
		}
	}
	return errors.Join(errs...)
}

// stop sends SIGTERM, then SIGKILL after 15s, and waits for the exit.
func stop(comp *component) error {
	if !comp.running() {
		return nil
	}
	_ = comp.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-comp.exited:
		return nil
	case <-time.After(15 * time.Second):
	}
	_ = comp.cmd.Process.Kill()
	select {
	case <-comp.exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) still running after SIGKILL", comp.name, comp.cmd.Process.Pid)
	}
}

// ScriptArgv is the argv of a kubectl call under script(1), so that it has
// a terminal.
func (c *Cluster) ScriptArgv(args ...string) []string {
	return []string{c.script, "-qec", node.ShellQuote(c.KubectlArgv(args...)...), "/dev/null"}
}
