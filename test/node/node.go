// Package node runs a private containerd node, 2.x or 1.7 (CRI and NRI on,
// runc behind a configurable runtime binary), for execguard's end-to-end
// tests and demo. Everything the node owns lives under one directory:
// containerd's root, state, sockets, runc state, pod logs and images. No
// registry is needed: the busybox and pause images are built locally and
// imported.
package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Images every node has; the pause image is the CRI sandbox image.
const (
	BusyboxImage = "docker.io/library/busybox:e2e"
	PauseImage   = "localhost/execguard/pause:e2e"
)

// The containerd shim hard-codes its socket directory under
// /run/containerd/s (pkg/shim SocketAddress); a node removes it again when
// the node created it and it is empty.
const shimSocketRoot = "/run/containerd"

// Options configure a node. Zero values pick the defaults noted per field.
type Options struct {
	// Dir holds everything the node owns; created when empty. Close removes it.
	Dir string
	// Containerd selects the containerd install: empty for the one in PATH
	// or /usr/local/bin (2.x), Containerd17 for 1.7, or an absolute
	// directory holding containerd, ctr and containerd-shim-runc-v2. The
	// config version follows containerd --version.
	Containerd string
	// WrapperPath is the runc handler's options.BinaryName: the binary the
	// shim runs for every runtime call (default /usr/sbin/runc).
	WrapperPath string
	// ShimPath, when set, runs the runc handler with execguard's shim (this
	// binary as its runtime_path, as execguard install sets it, and its
	// directory first on containerd's PATH, where containerd looks for the
	// shims of running tasks when it restarts) instead of containerd's runc
	// shim; WrapperPath stays options.BinaryName.
	ShimPath string
	// ShimRuntimeType is the handler's runtime_type with ShimPath: empty
	// for io.containerd.runc.v2 (execguard install's default), or
	// io.containerd.execguard.v2.
	ShimRuntimeType string
	// WrapperConfig is passed to containerd, hence to the shim and the
	// runtime, as EXECGUARD_CONFIG. Empty leaves the variable unset.
	WrapperConfig string
	// Env adds KEY=VALUE pairs to containerd's environment.
	Env []string
	// Snapshotter forces a snapshotter; empty picks overlayfs when an overlay
	// mount works under Dir, else native.
	Snapshotter string
	// Runc is the real runc, used only to delete containers left behind when
	// containerd or a shim died (default /usr/sbin/runc).
	Runc string
	// BusyboxPath is the static busybox copied into the images (default /bin/busybox).
	BusyboxPath string
	// LogLevel is containerd's log level (default info).
	LogLevel string
	// StartTimeout bounds containerd's start until CRI is ready (default 60s).
	StartTimeout time.Duration
	// CommandTimeout bounds each crictl/ctr/script call (default 2m).
	CommandTimeout time.Duration
}

// Node is a running private containerd.
type Node struct {
	// Dir is the node's directory.
	Dir string
	// Socket is containerd's gRPC socket (CRI and containerd API).
	Socket string
	// NRISocket is where NRI plugins connect.
	NRISocket string
	// NRIPluginDir and NRIConfigDir are where containerd finds the plugins
	// it launches (<index>-<name>) and their configuration
	// (<index>-<name>.conf), when it starts.
	NRIPluginDir, NRIConfigDir string
	// CrictlConfig is a crictl config file pointing at Socket.
	CrictlConfig string
	// RuncRoot is the runc --root the shim passes (plus /<namespace>).
	RuncRoot string
	// FIFODir is for ctr's --fifo-dir (ctr's default is /run/containerd/fifo).
	FIFODir string
	// CgroupParent is the pods' cgroup parent, so the node's cgroups stay
	// apart from a system containerd's /k8s.io.
	CgroupParent string
	// Snapshotter is the snapshotter in use.
	Snapshotter string
	// ContainerdVersion is what containerd --version reports, e.g. 1.7.35.
	ContainerdVersion string

	opts  Options
	l     layout
	tools tools

	render func(layout, configParams) (string, error) // config for this containerd version

	cmd    *exec.Cmd
	exited chan struct{} // closed when containerd exits
	logf   *os.File

	removeShimRoot bool // shimSocketRoot did not exist before Start

	mu     sync.Mutex
	pods   map[string]string // pod id -> pod config file
	closed bool
}

// tools are the absolute paths of the binaries a node drives.
type tools struct {
	containerd, shim, ctr, crictl, script string
}

// Start creates the node directory, starts containerd, waits until CRI
// reports ready and imports the busybox and pause images. On error nothing
// is left running.
func Start(ctx context.Context, opts Options) (*Node, error) {
	opts = withDefaults(opts)
	containerdDir, err := ContainerdDir(opts.Containerd)
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	t, err := findTools(containerdDir)
	if err != nil {
		return nil, err
	}
	version, major, minor, err := containerdVersion(t.containerd)
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	render, err := configRenderer(version, major, minor)
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	if !filepath.IsAbs(opts.WrapperPath) {
		return nil, fmt.Errorf("start node: WrapperPath %q is not absolute", opts.WrapperPath)
	}
	if err := unix.Access(opts.WrapperPath, unix.X_OK); err != nil {
		return nil, fmt.Errorf("start node: runtime binary %s: %w", opts.WrapperPath, err)
	}
	if opts.Dir == "" {
		// Short names: unix socket paths are limited to 108 bytes.
		dir, err := os.MkdirTemp("", "egnode-")
		if err != nil {
			return nil, fmt.Errorf("start node: %w", err)
		}
		opts.Dir = dir
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	l := layout{Dir: dir}
	n := &Node{
		Dir:          dir,
		Socket:       l.socket(),
		NRISocket:    l.nriSocket(),
		NRIPluginDir: l.path("nri", "plugins"),
		NRIConfigDir: l.path("nri", "conf.d"),
		CrictlConfig: l.crictlConfig(),
		RuncRoot:     l.runcRoot(),
		FIFODir:      l.path("fifo"),
		CgroupParent: cgroupParent(dir),
		opts:         opts,
		l:            l,
		tools:        t,
		exited:       make(chan struct{}),
		pods:         map[string]string{},
	}
	n.ContainerdVersion, n.render = version, render
	if err := n.start(ctx); err != nil {
		return nil, errors.Join(err, n.Close())
	}
	return n, nil
}

// cgroupParent names the node's pod cgroup parent after its directory.
func cgroupParent(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return "/egnode-" + hex.EncodeToString(sum[:6])
}

func withDefaults(o Options) Options {
	if o.WrapperPath == "" {
		o.WrapperPath = "/usr/sbin/runc"
	}
	if o.Runc == "" {
		o.Runc = "/usr/sbin/runc"
	}
	if o.BusyboxPath == "" {
		o.BusyboxPath = "/bin/busybox"
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.CommandTimeout == 0 {
		o.CommandTimeout = 2 * time.Minute
	}
	return o
}

// SearchPath is where binaries are looked up, whatever the caller's PATH.
func SearchPath() string {
	return strings.Join([]string{os.Getenv("PATH"), "/usr/local/bin", "/usr/local/sbin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"}, ":")
}

// findTools looks the binaries up; containerdDir, when set, is where
// containerd, ctr and the runc shim are.
func findTools(containerdDir string) (tools, error) {
	var t tools
	var missing []string
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"containerd", &t.containerd},
		{"containerd-shim-runc-v2", &t.shim},
		{"ctr", &t.ctr},
		{"crictl", &t.crictl},
		{"script", &t.script},
	} {
		p, err := LookPath(f.name)
		if containerdDir != "" && slices.Contains(containerdBinaries(), f.name) {
			p, err = filepath.Join(containerdDir, f.name), nil
		}
		if err != nil {
			missing = append(missing, f.name)
			continue
		}
		*f.dst = p
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("start node: not found in PATH or /usr/local/bin: %s (run test/setup-node.sh as root)",
			strings.Join(missing, ", "))
	}
	return t, nil
}

// LookPath finds an executable name in SearchPath.
func LookPath(name string) (string, error) {
	for _, d := range filepath.SplitList(SearchPath()) {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, exec.ErrNotFound)
}

func (n *Node) start(ctx context.Context) error {
	for _, d := range []string{n.Dir, n.l.root(), n.l.state(), n.l.path("tmp"), n.l.podsDir(),
		filepath.Dir(n.l.nriSocket()), n.l.path("nri", "plugins"), n.l.path("nri", "conf.d"),
		n.l.path("cni", "bin"), n.l.path("cni", "net.d"), n.l.path("cdi"), n.FIFODir} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return fmt.Errorf("start node: %w", err)
		}
	}
	n.Snapshotter = n.opts.Snapshotter
	if n.Snapshotter == "" {
		n.Snapshotter = "native"
		if err := probeOverlay(n.l.path("overlay-probe")); err == nil {
			n.Snapshotter = "overlayfs"
		}
	}
	cfg, err := n.render(n.l, configParams{
		RuntimeBinary: n.opts.WrapperPath,
		ShimPath:      n.opts.ShimPath,
		RuntimeType:   n.opts.ShimRuntimeType,
		Snapshotter:   n.Snapshotter,
		SandboxImage:  PauseImage,
	})
	if err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	if err := os.WriteFile(n.l.configFile(), []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	if err := os.WriteFile(n.CrictlConfig, []byte(crictlConfig(n.l)), 0o600); err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	if _, err := os.Stat(shimSocketRoot); errors.Is(err, os.ErrNotExist) {
		n.removeShimRoot = true
	}

	logf, err := os.OpenFile(n.l.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	n.logf = logf
	if err := n.launch(ctx); err != nil {
		return err
	}
	if err := n.importImages(); err != nil {
		return fmt.Errorf("%w\ncontainerd log tail:\n%s", err, n.LogTail(30))
	}
	return nil
}

// launch starts containerd on the node's configuration and waits until CRI
// is ready.
func (n *Node) launch(ctx context.Context) error {
	cmd := exec.Command(n.tools.containerd, "--config", n.l.configFile(), "--log-level", n.opts.LogLevel)
	cmd.Env = n.containerdEnv()
	cmd.Stdout = n.logf
	cmd.Stderr = n.logf
	cmd.Dir = n.Dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start containerd: %w", err)
	}
	exited := make(chan struct{})
	n.cmd, n.exited = cmd, exited
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	return n.waitReady(ctx)
}

// Restart stops containerd (SIGTERM) and starts it again on the same
// configuration, as a service manager restarts it. Pods, containers and
// their shims keep running; NRI plugins lose their connection.
func (n *Node) Restart(ctx context.Context) error {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed || n.cmd == nil {
		return errors.New("restart: node not running")
	}
	select {
	case <-n.exited:
	default:
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(15 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.exited
		}
	}
	if err := n.launch(ctx); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return nil
}

func (n *Node) containerdEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "EXECGUARD_CONFIG" || k == "PATH" {
			continue
		}
		env = append(env, kv)
	}
	path := SearchPath()
	if n.opts.Containerd != "" {
		// containerd finds its shims in PATH: the install's own come first.
		path = filepath.Dir(n.tools.shim) + ":" + path
	}
	if n.opts.ShimPath != "" {
		// containerd finds a running task's shim by its runtime on PATH
		// when it restarts and the bundle names no shim binary (containers
		// that joined their pod's shim); runtime_path only serves new tasks.
		path = filepath.Dir(n.opts.ShimPath) + ":" + path
	}
	env = append(env, "PATH="+path)
	if n.opts.WrapperConfig != "" {
		env = append(env, "EXECGUARD_CONFIG="+n.opts.WrapperConfig)
	}
	return append(env, n.opts.Env...)
}

// probeOverlay mounts an overlay under dir the way the overlayfs
// snapshotter would, and cleans up.
func probeOverlay(dir string) error {
	defer os.RemoveAll(dir)
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	merged := filepath.Join(dir, "merged")
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s",
		filepath.Join(dir, "lower"), filepath.Join(dir, "upper"), filepath.Join(dir, "work"))
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		return fmt.Errorf("overlay mount: %w", err)
	}
	return unix.Unmount(merged, 0)
}

// waitReady polls crictl info until the CRI runtime condition is true.
func (n *Node) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.opts.StartTimeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		select {
		case <-n.exited:
			return fmt.Errorf("containerd exited during start (%v)\ncontainerd log tail:\n%s",
				n.cmd.ProcessState, n.LogTail(40))
		case <-ctx.Done():
			return fmt.Errorf("containerd not ready after %s: %v\ncontainerd log tail:\n%s",
				n.opts.StartTimeout, last, n.LogTail(40))
		case <-tick.C:
		}
		if _, err := os.Stat(n.Socket); err != nil {
			last = err
			continue
		}
		out, err := n.runTimeout(5*time.Second, nil, n.tools.crictl, "--config", n.CrictlConfig, "--timeout", "4s", "info")
		if err != nil {
			last = err
			continue
		}
		if last = RuntimeReady([]byte(out)); last == nil {
			return nil
		}
	}
}

// RuntimeReady checks crictl info's RuntimeReady condition (containerd's and
// CRI-O's alike). NetworkReady
// stays false (no CNI) and does not matter for host-network pods.
func RuntimeReady(info []byte) error {
	var v struct {
		Status struct {
			Conditions []struct {
				Type    string `json:"type"`
				Status  bool   `json:"status"`
				Reason  string `json:"reason"`
				Message string `json:"message"`
			} `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal(info, &v); err != nil {
		return fmt.Errorf("decode crictl info: %w", err)
	}
	for _, c := range v.Status.Conditions {
		if c.Type == "RuntimeReady" {
			if c.Status {
				return nil
			}
			return fmt.Errorf("RuntimeReady false: %s %s", c.Reason, c.Message)
		}
	}
	return errors.New("crictl info: no RuntimeReady condition")
}

func (n *Node) importImages() error {
	f, err := os.Create(n.l.imageArchive())
	if err != nil {
		return fmt.Errorf("import images: %w", err)
	}
	err = WriteOCIArchive(f, n.opts.BusyboxPath,
		Image{Name: BusyboxImage, Cmd: []string{"sh"}},
		// PID 1 ignores SIGTERM, so a sleeping pause never exits by
		// accident; containerd stops sandboxes with SIGKILL.
		Image{Name: PauseImage, Entrypoint: []string{"/bin/sleep", "2147483647"}},
	)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("import images: %w", err)
	}
	if _, err := n.Ctr("images", "import", "--snapshotter", n.Snapshotter, n.l.imageArchive()); err != nil {
		return fmt.Errorf("import images: %w", err)
	}
	for _, img := range []string{BusyboxImage, PauseImage} {
		if _, err := n.Crictl("inspecti", img); err != nil {
			return fmt.Errorf("image %s not visible to CRI after import: %w", img, err)
		}
	}
	return nil
}

// LogTail returns the last lines of containerd's log, for error messages.
func (n *Node) LogTail(lines int) string {
	b, err := os.ReadFile(n.l.logFile())
	if err != nil {
		return fmt.Sprintf("(no containerd log: %v)", err)
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// LogFile is containerd's log file.
func (n *Node) LogFile() string { return n.l.logFile() }

// CrictlArgv is the full argv of a crictl call against the node.
func (n *Node) CrictlArgv(args ...string) []string {
	return append([]string{n.tools.crictl, "--config", n.CrictlConfig}, args...)
}

// CtrArgv is the full argv of a ctr call in the node's k8s.io namespace.
func (n *Node) CtrArgv(args ...string) []string {
	return append([]string{n.tools.ctr, "--address", n.Socket, "--namespace", "k8s.io"}, args...)
}

// Crictl runs crictl against the node and returns its stdout.
func (n *Node) Crictl(args ...string) (string, error) {
	argv := n.CrictlArgv(args...)
	return n.run(nil, argv[0], argv[1:]...)
}

// Ctr runs ctr in the node's k8s.io namespace and returns its stdout.
func (n *Node) Ctr(args ...string) (string, error) {
	argv := n.CtrArgv(args...)
	return n.run(nil, argv[0], argv[1:]...)
}

func (n *Node) run(stdin io.Reader, name string, args ...string) (string, error) {
	return n.runTimeout(n.opts.CommandTimeout, stdin, name, args...)
}

func (n *Node) runTimeout(timeout time.Duration, stdin io.Reader, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin = stdin
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", timeout, ctx.Err())
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "),
			err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Script runs argv under `script -qec` so that it gets a pseudo-terminal
// (crictl exec -it and ctr task exec --tty refuse to run without one) and
// returns everything written to that terminal.
func (n *Node) Script(argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.tools.script, "-qec", ShellQuote(argv...), "/dev/null")
	cmd.Env = append(os.Environ(), "SHELL=/bin/sh", "TERM=xterm")
	// script stops forwarding when its stdin reaches EOF; a pipe that stays
	// open until the session ends keeps it from cutting the session short.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", fmt.Errorf("script %s: %w", ShellQuote(argv...), err)
	}
	defer stdin.Close()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", n.opts.CommandTimeout, ctx.Err())
	}
	if err != nil {
		return string(out), fmt.Errorf("script %s: %w", ShellQuote(argv...), err)
	}
	return string(out), nil
}

// ShellQuote renders argv as one POSIX shell command line.
func ShellQuote(argv ...string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=@%+-,") == "" {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// Close removes every pod, stops containerd and its shims, unmounts what is
// left under the node directory and removes it. It is safe to call twice.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()

	var errs []error
	if n.cmd != nil {
		select {
		case <-n.exited:
		default:
			if _, err := n.runTimeout(90*time.Second, nil, n.tools.crictl, "--config", n.CrictlConfig, "rmp", "--all", "--force"); err != nil {
				select {
				case <-n.exited: // containerd died: the cleanup below handles its pods
				case <-time.After(time.Second):
					errs = append(errs, fmt.Errorf("remove pods: %w", err))
				}
			}
			_ = n.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-n.exited:
			case <-time.After(15 * time.Second):
				_ = n.cmd.Process.Kill()
				<-n.exited
			}
		}
	}
	// What follows only finds work when containerd or a shim died early.
	if err := n.killShims(); err != nil {
		errs = append(errs, err)
	}
	if err := n.deleteLeftoverContainers(); err != nil {
		errs = append(errs, err)
	}
	if err := UnmountUnder(n.Dir); err != nil {
		errs = append(errs, err)
	}
	n.removeShimSockets()
	removeCgroups(n.CgroupParent)
	if n.logf != nil {
		_ = n.logf.Close()
	}
	if err := os.RemoveAll(n.Dir); err != nil {
		errs = append(errs, fmt.Errorf("remove node dir: %w", err))
	}
	if n.removeShimRoot {
		// Only empty directories go; another containerd's files stay.
		for _, d := range []string{filepath.Join(shimSocketRoot, "s"), filepath.Join(shimSocketRoot, "fifo"), shimSocketRoot} {
			err := os.Remove(d)
			if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) {
				errs = append(errs, fmt.Errorf("remove %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// deleteLeftoverContainers force-deletes every container still in the
// node's runc state, which happens only when its shim is gone.
func (n *Node) deleteLeftoverContainers() error {
	nsDirs, err := os.ReadDir(n.RuncRoot)
	if err != nil {
		return nil // no runc state: nothing ever ran
	}
	var errs []error
	for _, ns := range nsDirs {
		root := filepath.Join(n.RuncRoot, ns.Name())
		ids, err := os.ReadDir(root)
		if err != nil {
			continue
		}
		for _, id := range ids {
			if _, err := n.runTimeout(30*time.Second, nil, n.opts.Runc, "--root", root, "delete", "--force", id.Name()); err != nil {
				errs = append(errs, fmt.Errorf("delete leftover container: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// removeShimSockets removes the sockets of this node's shims from
// /run/containerd/s; a shim that exits normally removes its own. A 2.x
// bundle names the socket in bootstrap.json, a 1.7 one in address.
func (n *Node) removeShimSockets() {
	bundles := filepath.Join(n.l.state(), "io.containerd.runtime.v2.task", "*", "*")
	files, _ := filepath.Glob(filepath.Join(bundles, "bootstrap.json"))
	plain, _ := filepath.Glob(filepath.Join(bundles, "address"))
	for _, f := range append(files, plain...) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var v struct {
			Address string `json:"address"`
		}
		if filepath.Base(f) == "address" {
			v.Address = strings.TrimSpace(string(b))
		} else if json.Unmarshal(b, &v) != nil {
			continue
		}
		path := strings.TrimPrefix(v.Address, "unix://")
		if filepath.Dir(path) == filepath.Join(shimSocketRoot, "s") {
			_ = os.Remove(path)
		}
	}
}

// removeCgroups removes the node's (by then empty) cgroup parent from every
// cgroup hierarchy: each v1 controller, or the v2 unified tree.
func removeCgroups(parent string) {
	if parent == "" || parent == "/" {
		return
	}
	mounts, _ := filepath.Glob("/sys/fs/cgroup/*")
	mounts = append(mounts, "/sys/fs/cgroup")
	for _, m := range mounts {
		_ = unix.Rmdir(filepath.Join(m, parent))
	}
}

// killShims kills the shims serving this node (their -address is the
// node's socket) and waits for them to go.
func (n *Node) killShims() error {
	pids, err := shimPIDs(n.Socket)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				return fmt.Errorf("shim %d still running after SIGKILL", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

func shimPIDs(socket string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-address" && args[i+1] == socket {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids, nil
}

// UnmountUnder unmounts every mount point at or below dir, deepest first.
func UnmountUnder(dir string) error {
	for range 10 {
		mounts, err := MountsUnder(dir)
		if err != nil || len(mounts) == 0 {
			return err
		}
		for _, m := range mounts {
			if err := unix.Unmount(m, 0); err != nil {
				_ = unix.Unmount(m, unix.MNT_DETACH)
			}
		}
	}
	mounts, err := MountsUnder(dir)
	if err == nil && len(mounts) > 0 {
		err = fmt.Errorf("still mounted: %s", strings.Join(mounts, ", "))
	}
	return err
}

// MountsUnder lists the mount points at or below dir, deepest first.
func MountsUnder(dir string) ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountPath(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, nil
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for space...).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
