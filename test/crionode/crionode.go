// Package crionode runs a private CRI-O (CRI and NRI on, conmon, runc and
// crun handlers behind configurable runtime paths) for execguard's
// end-to-end tests. Everything the node owns lives under one directory:
// CRI-O's configuration and drop-in directory, storage root and run root,
// sockets, runtime state, pod logs and images. No registry is needed: the
// busybox and pause images are built locally and copied into CRI-O's
// storage with CRI-O's copyimg.
package crionode

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/test/node"
)

// Version is the CRI-O release test/setup-node.sh builds.
const Version = "v1.36.3"

// DirEnv names the directory test/setup-node.sh built CRI-O into (its bin/
// holds crio, pinns and copyimg); DefaultDir is where it builds by default.
const (
	DirEnv     = "CRIO_DIR"
	DefaultDir = "/usr/local/lib/execguard-e2e/crio-1.36.3"
)

// Images every node has: the same as a containerd node's.
const (
	BusyboxImage = node.BusyboxImage
	PauseImage   = node.PauseImage
)

// Options configure a node. Zero values pick the defaults noted per field.
type Options struct {
	// Dir holds everything the node owns; created when empty. Close removes it.
	Dir string
	// RuntimePaths maps each runtime handler to its runtime_path: the binary
	// CRI-O and conmon run for every runtime call (default: runc ->
	// /usr/sbin/runc, crun -> /usr/bin/crun). Without a crun handler CRI-O
	// adds its built-in one, whose runtime_root is /run/crun.
	RuntimePaths map[string]string
	// DefaultRuntime is the handler of pods that name none (default runc).
	DefaultRuntime string
	// RealRuntimes are the real runtimes per handler, used only to delete
	// containers left behind when CRI-O or conmon died (default: runc ->
	// /usr/sbin/runc, crun -> /usr/bin/crun).
	RealRuntimes map[string]string
	// CRIODir is where crio, pinns and copyimg are, under bin/ (default:
	// $CRIO_DIR, else DefaultDir).
	CRIODir string
	// Conmon is the monitor (default: conmon in /usr/bin).
	Conmon string
	// Env adds KEY=VALUE pairs to CRI-O's environment.
	Env []string
	// BusyboxPath is the static busybox copied into the images (default /bin/busybox).
	BusyboxPath string
	// StorageDriver forces a storage driver; empty picks overlay when an
	// overlay mount works under Dir, else vfs.
	StorageDriver string
	// LogLevel is CRI-O's log level (default info).
	LogLevel string
	// StartTimeout bounds CRI-O's start until CRI is ready (default 60s).
	StartTimeout time.Duration
	// CommandTimeout bounds each crictl/script call (default 2m).
	CommandTimeout time.Duration
}

// Node is a running private CRI-O.
type Node struct {
	// Dir is the node's directory.
	Dir string
	// Socket is CRI-O's CRI socket.
	Socket string
	// NRISocket is where NRI plugins connect; NRIPluginDir and NRIConfigDir
	// are where CRI-O finds the plugins it launches when it starts.
	NRISocket, NRIPluginDir, NRIConfigDir string
	// ConfigFile is CRI-O's --config and ConfigDir its --config-dir (empty
	// at start): a test may add a drop-in (an installer does) and Restart.
	ConfigFile, ConfigDir string
	// CrictlConfig is a crictl config file pointing at Socket.
	CrictlConfig string
	// CgroupParent is the pods' cgroup parent, so the node's cgroups stay
	// apart from everything else.
	CgroupParent string
	// StorageDriver is the containers/storage driver in use.
	StorageDriver string
	// Version is what crio --version reports.
	Version string

	opts  Options
	l     layout
	tools tools

	cmd    *exec.Cmd
	exited chan struct{} // closed when CRI-O exits
	logf   *os.File

	mu     sync.Mutex
	pods   map[string]podRecord // by pod id
	closed bool
}

// tools are the absolute paths of the binaries a node drives.
type tools struct {
	crio, pinns, copyimg, conmon, crictl, script string
}

// Start creates the node directory, copies the images into CRI-O's storage,
// starts CRI-O and waits until CRI reports ready. On error nothing is left
// running.
func Start(ctx context.Context, opts Options) (*Node, error) {
	opts = withDefaults(opts)
	t, err := findTools(opts)
	if err != nil {
		return nil, err
	}
	for name, p := range opts.RuntimePaths {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("start CRI-O: runtime path %q of handler %s is not absolute", p, name)
		}
		if err := unix.Access(p, unix.X_OK); err != nil {
			return nil, fmt.Errorf("start CRI-O: runtime path of handler %s: %s: %w", name, p, err)
		}
	}
	if opts.Dir == "" {
		// Short names: unix socket paths are limited to 108 bytes.
		dir, err := os.MkdirTemp("", "egcrio-")
		if err != nil {
			return nil, fmt.Errorf("start CRI-O: %w", err)
		}
		opts.Dir = dir
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start CRI-O: %w", err)
	}
	l := layout{Dir: dir}
	n := &Node{
		Dir:          dir,
		Socket:       l.socket(),
		NRISocket:    l.nriSocket(),
		NRIPluginDir: l.path("nri", "plugins"),
		NRIConfigDir: l.path("nri", "conf.d"),
		ConfigFile:   l.configFile(),
		ConfigDir:    l.configDir(),
		CrictlConfig: l.crictlConfig(),
		CgroupParent: cgroupParent(dir),
		opts:         opts,
		l:            l,
		tools:        t,
		exited:       make(chan struct{}),
		pods:         map[string]podRecord{},
	}
	if err := n.start(ctx); err != nil {
		return nil, errors.Join(err, n.Close())
	}
	return n, nil
}

// cgroupParent names the node's pod cgroup parent after its directory.
func cgroupParent(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return "/egcrio-" + hex.EncodeToString(sum[:6])
}

func withDefaults(o Options) Options {
	if len(o.RuntimePaths) == 0 {
		o.RuntimePaths = map[string]string{"runc": "/usr/sbin/runc", "crun": "/usr/bin/crun"}
	}
	if o.DefaultRuntime == "" {
		o.DefaultRuntime = "runc"
	}
	if len(o.RealRuntimes) == 0 {
		o.RealRuntimes = map[string]string{"runc": "/usr/sbin/runc", "crun": "/usr/bin/crun"}
	}
	if o.CRIODir == "" {
		o.CRIODir = os.Getenv(DirEnv)
	}
	if o.CRIODir == "" {
		o.CRIODir = DefaultDir
	}
	if o.Conmon == "" {
		o.Conmon = "/usr/bin/conmon"
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

func findTools(o Options) (tools, error) {
	t := tools{
		crio:    filepath.Join(o.CRIODir, "bin", "crio"),
		pinns:   filepath.Join(o.CRIODir, "bin", "pinns"),
		copyimg: filepath.Join(o.CRIODir, "bin", "copyimg"),
		conmon:  o.Conmon,
	}
	var missing []string
	for _, p := range []string{t.crio, t.pinns, t.copyimg, t.conmon} {
		if !executable(p) {
			missing = append(missing, p)
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"crictl", &t.crictl}, {"script", &t.script}} {
		p, err := node.LookPath(f.name)
		if err != nil {
			missing = append(missing, f.name)
			continue
		}
		*f.dst = p
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("start CRI-O: not found: %s (run test/setup-node.sh as root; it builds CRI-O %s into %s, or set %s)",
			strings.Join(missing, ", "), Version, DefaultDir, DirEnv)
	}
	return t, nil
}

func executable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func (n *Node) start(ctx context.Context) error {
	for _, d := range n.l.dirs() {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return fmt.Errorf("start CRI-O: %w", err)
		}
	}
	n.StorageDriver = n.opts.StorageDriver
	if n.StorageDriver == "" {
		n.StorageDriver = "vfs"
		if err := probeOverlay(n.l.path("overlay-probe")); err == nil {
			n.StorageDriver = "overlay"
		}
	}
	cfg, err := crioConfig(n.l, configParams{
		RuntimePaths:   n.opts.RuntimePaths,
		DefaultRuntime: n.opts.DefaultRuntime,
		Conmon:         n.tools.conmon,
		Pinns:          n.tools.pinns,
		StorageDriver:  n.StorageDriver,
		PauseImage:     PauseImage,
		LogLevel:       n.opts.LogLevel,
	})
	if err != nil {
		return fmt.Errorf("start CRI-O: %w", err)
	}
	for _, f := range []struct {
		path, data string
	}{
		{n.l.configFile(), cfg},
		{n.l.signaturePolicy(), signaturePolicy},
		{n.l.storageConf(), storageConf(n.l, n.StorageDriver)},
		{n.l.registriesConf(), registriesConf},
		{n.CrictlConfig, crictlConfig(n.l)},
	} {
		if err := os.WriteFile(f.path, []byte(f.data), 0o644); err != nil {
			return fmt.Errorf("start CRI-O: %w", err)
		}
	}
	out, err := n.runTimeout(10*time.Second, nil, n.tools.crio, "--version")
	if err != nil {
		return fmt.Errorf("start CRI-O: %w", err)
	}
	n.Version = crioVersion(out)
	if err := n.importImages(); err != nil {
		return err
	}
	logf, err := os.OpenFile(n.l.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("start CRI-O: %w", err)
	}
	n.logf = logf
	if err := n.launch(ctx); err != nil {
		return err
	}
	for _, img := range []string{BusyboxImage, PauseImage} {
		if _, err := n.Crictl("inspecti", img); err != nil {
			return fmt.Errorf("image %s not visible to CRI: %w\nCRI-O log tail:\n%s", img, err, n.LogTail(30))
		}
	}
	return nil
}

// crioVersion reads crio --version's first line, "crio version X".
func crioVersion(out string) string {
	first, _, _ := strings.Cut(out, "\n")
	if v, ok := strings.CutPrefix(strings.TrimSpace(first), "crio version "); ok {
		return strings.TrimSpace(v)
	}
	return ""
}

// env is the environment of CRI-O and copyimg: no system containers
// configuration, temporary files (exec process specs, conmon's console
// sockets) under the node directory.
func (n *Node) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "TMPDIR", "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PATH="+node.SearchPath(), "TMPDIR="+n.l.tmp(),
		"CONTAINERS_STORAGE_CONF="+n.l.storageConf(), "CONTAINERS_REGISTRIES_CONF="+n.l.registriesConf())
	return append(env, n.opts.Env...)
}

// importImages writes each image as its own OCI archive and copies it into
// CRI-O's storage.
func (n *Node) importImages() error {
	for i, img := range []node.Image{
		{Name: BusyboxImage, Cmd: []string{"sh"}},
		// PID 1 ignores SIGTERM, so a sleeping pause never exits by accident.
		{Name: PauseImage, Entrypoint: []string{"/bin/sleep", "2147483647"}},
	} {
		archive := n.l.path(fmt.Sprintf("image-%d.tar", i))
		f, err := os.Create(archive)
		if err != nil {
			return fmt.Errorf("import image %s: %w", img.Name, err)
		}
		err = node.WriteOCIArchive(f, n.opts.BusyboxPath, img)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("import image %s: %w", img.Name, err)
		}
		cmd := exec.Command(n.tools.copyimg, "--root", n.l.root(), "--runroot", n.l.runRoot(),
			"--storage-driver", n.StorageDriver, "--signature-policy", n.l.signaturePolicy(),
			"--import-from", "oci-archive:"+archive, "--image-name", img.Name)
		cmd.Env = n.env()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("import image %s with copyimg: %w: %s", img.Name, err, strings.TrimSpace(string(out)))
		}
		if err := os.Remove(archive); err != nil {
			return fmt.Errorf("import image %s: %w", img.Name, err)
		}
	}
	return nil
}

// launch starts CRI-O on the node's configuration and waits until CRI is
// ready. CRI-O hands its open descriptors to every runtime call, so it gets
// 0-2 only.
func (n *Node) launch(ctx context.Context) error {
	if err := closeOnExec(); err != nil {
		return fmt.Errorf("start CRI-O: %w", err)
	}
	cmd := exec.Command(n.tools.crio, "--config", n.l.configFile(), "--config-dir", n.l.configDir())
	cmd.Env = n.env()
	cmd.Stdout = n.logf
	cmd.Stderr = n.logf
	cmd.Dir = n.Dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start CRI-O: %w", err)
	}
	exited := make(chan struct{})
	n.cmd, n.exited = cmd, exited
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	return n.waitReady(ctx)
}

// closeOnExec marks every descriptor above 2 close-on-exec: Go opens its
// own that way, but one the test process inherited would reach CRI-O and
// every runtime call.
func closeOnExec() error {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list open descriptors: %w", err)
	}
	for _, e := range entries {
		var fd int
		if _, err := fmt.Sscanf(e.Name(), "%d", &fd); err != nil || fd < 3 {
			continue
		}
		unix.CloseOnExec(fd)
	}
	return nil
}

// Restart stops CRI-O (SIGTERM) and starts it again on the same
// configuration and drop-in directory, as a service manager restarts it.
// Containers and their conmons keep running; NRI plugins lose their
// connection.
func (n *Node) Restart(ctx context.Context) error {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed || n.cmd == nil {
		return errors.New("restart CRI-O: node not running")
	}
	n.stop()
	if err := n.launch(ctx); err != nil {
		return fmt.Errorf("restart CRI-O: %w", err)
	}
	return nil
}

// stop sends SIGTERM and waits, then kills.
func (n *Node) stop() {
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}

// probeOverlay mounts an overlay under dir the way the overlay driver
// would, and cleans up.
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
			return fmt.Errorf("CRI-O exited during start (%v)\nCRI-O log tail:\n%s", n.cmd.ProcessState, n.LogTail(40))
		case <-ctx.Done():
			return fmt.Errorf("CRI-O not ready after %s: %v\nCRI-O log tail:\n%s", n.opts.StartTimeout, last, n.LogTail(40))
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
		if last = node.RuntimeReady([]byte(out)); last == nil {
			return nil
		}
	}
}

// LogTail returns the last lines of CRI-O's log, for error messages.
func (n *Node) LogTail(lines int) string {
	b, err := os.ReadFile(n.l.logFile())
	if err != nil {
		return fmt.Sprintf("(no CRI-O log: %v)", err)
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// LogFile is CRI-O's log file.
func (n *Node) LogFile() string { return n.l.logFile() }

// RuntimeRoot is the runtime_root of a handler: the runtime's --root.
func (n *Node) RuntimeRoot(handler string) string { return n.l.runtimeRoot(handler) }

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
