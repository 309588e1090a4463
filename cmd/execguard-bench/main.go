// Command execguard-bench measures what the execguard runtime wrapper adds to
// a runtime call, as a whole process: it runs the same runtime command lines
// directly and through the wrapper, interleaved, against a throwaway
// container, and prints medians, p90s and the wrapped/direct ratios.
//
// -runtime picks runc or crun, -shape the engine whose command lines and
// wrapper installation are reproduced: containerd (go-runc's global flags,
// the wrapper as execguard-<runtime> with EXECGUARD_CONFIG) or podman
// (conmon's exec, the wrapper under the runtime's own name with
// execguard.toml beside it). It must run as root:
//
//	execguard-bench -wrapper ./execguard-runc -n 200
//	execguard-bench -wrapper ./execguard-runc -runtime crun -shape podman -n 100
//
// -load measures whole execs under load instead, through a private
// containerd (load.go):
//
//	execguard-bench -wrapper ./execguard-runc -load
//
// and, with -shim, through execguard's shim against containerd's runc shim:
//
//	execguard-bench -load -shim ./containerd-shim-execguard-v2
//
// -shim compares crictl exec -it through execguard's containerd shim with
// containerd's runc shim, and their memory (shim.go):
//
//	execguard-bench -shim ./containerd-shim-execguard-v2
//
// -tty -shim measures the throughput of a terminal session the shim records
// against one it does not (tty.go):
//
//	execguard-bench -tty -shim ./containerd-shim-execguard-v2
//
// crun 1.8 refuses a hybrid cgroup layout (v1 controllers plus a cgroup2
// mount such as /sys/fs/cgroup/unified); there a crun run re-executes itself
// in a private mount namespace with the cgroup2 mount covered (mountns.go),
// and says so in its output.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/state"
	"golang.org/x/sys/unix"
)

type options struct {
	wrapper       string
	runtime       string
	real          string
	shape         shape
	busybox       string
	n             int
	warmup        int
	eventsPerExec int
	goBin         string
	cold          bool
	baseline      string
}

func main() {
	var o options
	var shapeName string
	flag.StringVar(&o.wrapper, "wrapper", "", "execguard runtime wrapper binary (required); called through a symlink named as -shape installs it")
	flag.StringVar(&o.runtime, "runtime", "runc", "runtime to compare: runc or crun")
	flag.StringVar(&o.real, "real", "", "real runtime binary (default /usr/sbin/runc or /usr/bin/crun, after -runtime)")
	flag.StringVar(&shapeName, "shape", string(shapeContainerd), "command lines and wrapper installation of: containerd or podman")
	flag.StringVar(&o.busybox, "busybox", "/bin/busybox", "static busybox for the container's rootfs")
	flag.IntVar(&o.n, "n", 200, "measured iterations per side and comparison")
	flag.IntVar(&o.warmup, "warmup", 10, "unmeasured iterations per side before measuring")
	flag.IntVar(&o.eventsPerExec, "events-per-exec", 2,
		"event log lines each wrapped interactive exec must add (event + alert); 0 when -wrapper is not execguard")
	flag.StringVar(&o.goBin, "go", "", "Go toolchain that builds the floor wrapper (default: go in PATH)")
	flag.BoolVar(&o.cold, "cold", false, "measure the wrapper's own cold work: against a stand-in runtime that exits at once, beside the Go floor, with GODEBUG=inittrace")
	flag.StringVar(&o.baseline, "baseline", "", "-cold: another wrapper binary (an earlier build) measured as a fourth side, in the same run")
	var crio crioOptions
	crio.register(flag.CommandLine)
	var lo loadOptions
	lo.register(flag.CommandLine)
	var so shimOptions
	so.register(flag.CommandLine)
	var to ttyOptions
	to.register(flag.CommandLine)
	flag.Parse()
	if to.enabled {
		os.Exit(mainTTY(to, o, so.path))
	}
	if lo.enabled {
		os.Exit(mainLoad(lo, o, shapeName, so.path))
	}
	if so.path != "" {
		os.Exit(mainShim(so, o))
	}
	if crio.enabled {
		os.Exit(mainCRIO(crio, o))
	}
	var errs []error
	sh, err := parseShape(shapeName)
	errs = append(errs, err, checkRuntime(o.runtime))
	o.shape = sh
	if o.real == "" {
		o.real = defaultReal(o.runtime)
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(os.Stderr, "execguard-bench: %v\n", err)
		os.Exit(2)
	}
	if o.wrapper == "" || o.n < 1 || o.warmup < 0 || o.eventsPerExec < 0 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if o.runtime == "crun" {
		mounts, err := currentHybridMounts()
		switch {
		case err != nil:
			fmt.Fprintf(os.Stderr, "execguard-bench: %v\n", err)
			os.Exit(1)
		case len(mounts) == 0:
		case os.Getenv(privateCgroupEnv) == "":
			// This process only waits for its re-executed self.
			code, err := reexecPrivateCgroup()
			if err != nil {
				fmt.Fprintf(os.Stderr, "execguard-bench: %v\n", err)
			}
			os.Exit(code)
		default:
			if err := coverCgroup2(mounts); err != nil {
				fmt.Fprintf(os.Stderr, "execguard-bench: %v\n", err)
				os.Exit(1)
			}
			fmt.Printf("crun: hybrid cgroup layout; both sides run in a private mount namespace with %s covered by an empty tmpfs\n",
				strings.Join(mounts, ", "))
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if o.cold {
		err = runCold(ctx, o, os.Stdout)
	} else {
		err = run(ctx, o, os.Stdout)
	}
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "execguard-bench: %v\n", err)
		os.Exit(1)
	}
}

// bench is one run's throwaway world: the temp dir and what lives in it.
type bench struct {
	opts     options
	tmp      string
	real     string // absolute path of the real runtime
	l        layout
	id       string
	eventLog string
	env      []string
	sock     *consoleSocket
	execs    uint64 // names each exec's files
	floor    string // the Go floor wrapper, exec'ing real
	// experiments is the wrapper's GOEXPERIMENT setting, the floor's too.
	experiments string
}

func run(ctx context.Context, o options, w io.Writer) (err error) {
	if os.Geteuid() != 0 {
		return fmt.Errorf("must run as root (it creates a container with %s)", o.runtime)
	}
	realPath, err := absExecutable(o.real)
	if err != nil {
		return fmt.Errorf("%s: %w", o.runtime, err)
	}
	tmp, removeTmp, err := tempDir("execguard-bench-")
	if err != nil {
		return err
	}
	defer removeTmp(&err)
	// The wrapper finds execguard.toml beside it only when called by an
	// absolute path.
	if tmp, err = filepath.Abs(tmp); err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}

	b, err := prepare(tmp, realPath, o)
	if err != nil {
		return err
	}
	// Registered before the start so a half-created container goes too.
	defer func() { err = errors.Join(err, b.deleteContainer()) }()
	if err := b.startContainer(ctx); err != nil {
		return err
	}
	b.sock, err = listenConsole(b.l.console)
	if err != nil {
		return err
	}
	defer b.sock.Close()

	fmt.Fprintf(w, "execguard-bench: %s %s with %s's command lines, wrapper %s as %s, Go floor wrapper %s%s, %d iterations per side after %d warm-up, interleaved\n",
		o.runtime, b.real, o.shape, o.wrapper, filepath.Base(b.l.wrapper), b.floor, b.builtWith(), o.n, o.warmup)

	before, err := eventLines(b.eventLog)
	if err != nil {
		return err
	}
	sides := []string{b.real, b.floor, b.l.wrapper}
	s, err := b.compare(ctx, sides, b.execOnce)
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	if err := reportWithFloor(w, ratioName("exec", o.shape, o.runtime), execWhat(o.shape, o.runtime), s[0], s[1], s[2]); err != nil {
		return err
	}
	after, err := eventLines(b.eventLog)
	if err != nil {
		return err
	}
	execs := o.warmup + o.n
	if err := checkExecEvents(after[len(before):], execs, o.eventsPerExec, b.id); err != nil {
		return err
	}
	fmt.Fprintf(w, "events: %d lines for %d wrapped execs, %d each, as expected\n",
		len(after)-len(before), execs, o.eventsPerExec)

	s, err = b.compare(ctx, sides, b.stateOnce)
	if err != nil {
		return fmt.Errorf("passthrough: %w", err)
	}
	if err := reportWithFloor(w, ratioName("passthrough", o.shape, o.runtime), "state", s[0], s[1], s[2]); err != nil {
		return err
	}
	final, err := eventLines(b.eventLog)
	if err != nil {
		return err
	}
	if n := len(final) - len(after); n != 0 {
		return fmt.Errorf("event log gained %d lines during state calls, want 0", n)
	}
	return nil
}

func execWhat(sh shape, runtimeName string) string {
	switch {
	case sh == shapePodman && runtimeName == "crun":
		return "interactive exec as conmon runs it: --log-format=json --log, --detach --tty --console-socket, terminal true"
	case sh == shapePodman:
		return "interactive exec as conmon runs it: --detach --tty --console-socket, terminal true"
	default:
		return "interactive exec: --console-socket --detach, terminal true"
	}
}

// prepare lays out the temp dir: runtime root, bundle, exec process file,
// wrapper link and its config.
func prepare(tmp, realPath string, o options) (*bench, error) {
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	b := &bench{
		opts:     o,
		tmp:      tmp,
		real:     realPath,
		l:        newLayout(o.shape, o.runtime, tmp, id),
		id:       id,
		eventLog: filepath.Join(tmp, "events.ndjson"),
	}
	for _, d := range []string{b.l.root, b.l.bundle, filepath.Dir(b.l.wrapper), filepath.Dir(b.l.config)} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	if err := makeBundle(b.l.bundle, o.busybox); err != nil {
		return nil, err
	}
	if b.l.process != "" {
		if err := writeJSON(b.l.process, execProcess()); err != nil {
			return nil, err
		}
	}
	// Both Go sides run from copies written with write(2), as execguard
	// install, a package or an image layer writes them, under the name the
	// wrapper is installed by (it finds its runtime by that name). A binary
	// as the Go linker leaves it (written through mmap) starts 0.3-0.6 ms
	// slower here, more so the larger it is: measured as built, the
	// wrapper's own cost would include that.
	wrapperPath, err := absExecutable(o.wrapper)
	if err != nil {
		return nil, fmt.Errorf("wrapper: %w", err)
	}
	if err := copyExecutable(wrapperPath, b.l.wrapper); err != nil {
		return nil, fmt.Errorf("wrapper: %w", err)
	}
	if err := os.WriteFile(b.l.config, []byte(wrapperConfig(b.eventLog, o.runtime, b.real)), 0o644); err != nil {
		return nil, fmt.Errorf("wrapper config: %w", err)
	}
	// On a node the NRI plugin has recorded every container, and the
	// wrapper reads that record on every decision.
	if err := state.WriteContainer(filepath.Join(tmp, "state"), pluginRecord(id)); err != nil {
		return nil, fmt.Errorf("plugin record: %w", err)
	}
	b.env = runtimeEnv(os.Environ(), b.l)
	goBin, err := findGo(o.goBin)
	if err != nil {
		return nil, err
	}
	b.experiments = goExperiments(wrapperPath)
	built, err := buildFloor(goBin, tmp, b.real, b.experiments)
	if err != nil {
		return nil, err
	}
	b.floor = filepath.Join(tmp, "floor-copy", "floor")
	if err := copyExecutable(built, b.floor); err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	return b, nil
}

// runtimeEnv is the environment of both sides' calls, so only the binary
// differs; the runtimes ignore EXECGUARD_CONFIG. Podman's conmon does not
// pass its caller's environment on, so there the variable is dropped and the
// wrapper must find its file beside itself.
func runtimeEnv(base []string, l layout) []string {
	env := make([]string, 0, len(base)+1)
	for _, kv := range base {
		if !strings.HasPrefix(kv, config.EnvPath+"=") {
			env = append(env, kv)
		}
	}
	if l.configEnv {
		env = append(env, config.EnvPath+"="+l.config)
	}
	return env
}

// builtWith says how the wrapper and floor were built when not with the
// toolchain's defaults.
func (b *bench) builtWith() string {
	if b.experiments == "" {
		return ""
	}
	return " (both built with GOEXPERIMENT=" + b.experiments + ")"
}

// pluginRecord is what the NRI plugin records of a Deployment's container
// with a few labels.
func pluginRecord(id string) state.Container {
	return state.Container{
		ID:             id,
		Name:           "app",
		SandboxID:      strings.Repeat("5f0c9d1e", 8),
		PodName:        "web-7d9f8c6b5-x2k4q",
		PodNamespace:   "demo",
		PodUID:         "1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718",
		PodLabels:      map[string]string{"app": "web", "pod-template-hash": "7d9f8c6b5", "team": "payments"},
		Image:          "docker.io/library/nginx:1.27",
		ImageDigest:    "sha256:" + strings.Repeat("0123456789abcdef", 4),
		RuntimeHandler: "runc",
	}
}

func randomID() (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return hex.EncodeToString(buf), nil
}

func absExecutable(path string) (string, error) {
	p, err := exec.LookPath(path)
	if err != nil {
		return "", err
	}
	return filepath.Abs(p)
}

// globalRoot is --root where the layout has one.
func (b *bench) globalRoot() []string {
	if b.l.root == "" {
		return nil
	}
	return []string{"--root", b.l.root}
}

// startContainer runs the container detached with the real runtime. Its
// stdio is /dev/null: a pipe would be inherited by the container's init and
// never reach EOF. Errors come back through the runtime's --log.
func (b *bench) startContainer(ctx context.Context) error {
	runLog := filepath.Join(b.tmp, "run-log.json")
	args := append(b.globalRoot(), "--log", runLog, "--log-format", "json",
		"run", "--detach", "--bundle", b.l.bundle, b.id)
	cmd := exec.CommandContext(ctx, b.real, args...)
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(runLog)
		return fmt.Errorf("%s run: %w: %s", b.opts.runtime, err, bytes.TrimSpace(msg))
	}
	return nil
}

// deleteContainer removes the container with the real runtime, if it ever
// recorded it.
func (b *bench) deleteContainer() error {
	if _, err := os.Stat(filepath.Join(b.l.stateRoot, b.id)); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	args := append(b.globalRoot(), "delete", "--force", b.id)
	out, err := exec.Command(b.real, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s delete --force %s: %w: %s", b.opts.runtime, b.id, err, bytes.TrimSpace(out))
	}
	return nil
}

// compare runs once on each side per iteration, rotating which goes first,
// so drift and order effects hit all sides alike. The first warmup
// iterations are not kept. It returns each side's samples.
func (b *bench) compare(ctx context.Context, sides []string, once func(ctx context.Context, rt string) (time.Duration, error)) ([][]time.Duration, error) {
	return compareSides(ctx, sides, b.opts.warmup, b.opts.n, once)
}

func compareSides(ctx context.Context, sides []string, warmup, n int, once func(ctx context.Context, rt string) (time.Duration, error)) ([][]time.Duration, error) {
	samples := make([][]time.Duration, len(sides))
	for i := range samples {
		samples[i] = make([]time.Duration, 0, n)
	}
	for i := range warmup + n {
		for k := range sides {
			s := (i + k) % len(sides)
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("interrupted: %w", err)
			}
			d, err := once(ctx, sides[s])
			if ctxErr := ctx.Err(); ctxErr != nil {
				// The runtime was killed by the interrupt; say so, not "killed".
				return nil, fmt.Errorf("interrupted: %w", ctxErr)
			}
			if err != nil {
				return nil, err
			}
			if i >= warmup {
				samples[s] = append(samples[s], d)
			}
		}
	}
	return samples, nil
}

// consoleTimeout bounds the wait for the runtime to hand over the pty.
const consoleTimeout = 30 * time.Second

// nextExec lays out the next exec's files: Podman writes a fresh exec
// directory with the process file for every exec; containerd's shim a pid
// file beside the one process file.
func (b *bench) nextExec() (execFiles, error) {
	b.execs++
	if b.opts.shape != shapePodman {
		return containerdExecFiles(b.l, b.execs), nil
	}
	execID, err := randomID()
	if err != nil {
		return execFiles{}, err
	}
	f := podmanExecFiles(b.l.bundle, execID, b.execs, b.opts.runtime)
	if err := os.Mkdir(f.dir, 0o700); err != nil {
		return execFiles{}, fmt.Errorf("exec dir: %w", err)
	}
	return f, writeJSON(f.process, execProcess())
}

// execOnce runs the interactive exec exactly as the engine does for an
// interactive session (`crictl exec -it`, `podman exec -it`), and times it
// from fork until the runtime has exited and the pty master has been
// received. The files are laid out before the clock starts.
func (b *bench) execOnce(ctx context.Context, rt string) (time.Duration, error) {
	f, err := b.nextExec()
	if err != nil {
		return 0, err
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, rt, execArgv(b.opts.shape, b.opts.runtime, b.l, f, b.id)...)
	cmd.Env = b.env
	// Both engines collect a detached exec's output; do the same.
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := b.sock.setDeadline(time.Now().Add(consoleTimeout)); err != nil {
		return 0, fmt.Errorf("console socket: %w", err)
	}
	type pty struct {
		fd  int
		err error
	}
	received := make(chan pty, 1)
	go func() {
		fd, err := b.sock.receive()
		received <- pty{fd, err}
	}()

	start := time.Now()
	runErr := cmd.Run()
	if runErr != nil {
		// Unblock the receiver: no runtime will connect now.
		_ = b.sock.setDeadline(time.Now())
	}
	master := <-received
	elapsed := time.Since(start)
	recvErr := master.err
	if master.err == nil {
		// The exec runs `true`: there is no session to relay.
		recvErr = unix.Close(master.fd)
	}

	if runErr != nil {
		msg := strings.TrimSpace(out.String())
		if f.log != "" {
			if l, err := os.ReadFile(f.log); err == nil {
				msg += " " + string(bytes.TrimSpace(l))
			}
		}
		return 0, fmt.Errorf("%s: %w: %s", rt, runErr, msg)
	}
	if recvErr != nil {
		return 0, fmt.Errorf("%s: %w", rt, recvErr)
	}
	// The pid file proves the runtime started the process; then the exec's
	// files go, as the engine removes them.
	if err := os.Remove(f.pidFile); err != nil {
		return 0, fmt.Errorf("%s: pid file: %w", rt, err)
	}
	if f.dir != "" {
		if err := os.RemoveAll(f.dir); err != nil {
			return 0, fmt.Errorf("exec dir: %w", err)
		}
	}
	return elapsed, nil
}

// stateOnce times a call the wrapper only passes through.
func (b *bench) stateOnce(ctx context.Context, rt string) (time.Duration, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, rt, stateArgv(b.l, b.id)...)
	cmd.Env = b.env
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s state: %w: %s", rt, err, strings.TrimSpace(out.String()))
	}
	var st struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		return 0, fmt.Errorf("%s state output: %w: %s", rt, err, out.Bytes())
	}
	if st.ID != b.id || st.Status != "running" {
		return 0, fmt.Errorf("%s state: container %q is %q, want %q running", rt, st.ID, st.Status, b.id)
	}
	return elapsed, nil
}

func report(w io.Writer, name, what string, direct, wrapped []time.Duration) error {
	d, err := summarize(direct)
	if err != nil {
		return fmt.Errorf("%s direct: %w", name, err)
	}
	wr, err := summarize(wrapped)
	if err != nil {
		return fmt.Errorf("%s wrapped: %w", name, err)
	}
	paired, err := pairedDiffMedian(direct, wrapped)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	r, err := ratio(wr.Median, d.Median)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(w, "%s (%s)\n", name, what)
	fmt.Fprintf(w, "  direct   median %10s  p90 %10s  min %10s\n", micros(d.Median), micros(d.P90), micros(d.Min))
	fmt.Fprintf(w, "  wrapped  median %10s  p90 %10s  min %10s\n", micros(wr.Median), micros(wr.P90), micros(wr.Min))
	fmt.Fprintf(w, "  added    median %+.1f µs (median of paired differences %+.1f µs)\n",
		toMicros(wr.Median-d.Median), toMicros(paired))
	fmt.Fprintf(w, "ratio %s %s\n", name, formatRatio(r))
	return nil
}

// reportWithFloor is report, then the Go floor beside the wrapper: the
// floor's own ratio to the runtime called directly, and the wrapper's to
// the floor (what the wrapper costs beyond a Go program that only execs).
func reportWithFloor(w io.Writer, name, what string, direct, floor, wrapped []time.Duration) error {
	if err := report(w, name, what, direct, wrapped); err != nil {
		return err
	}
	d, err := summarize(direct)
	if err != nil {
		return fmt.Errorf("%s direct: %w", name, err)
	}
	f, err := summarize(floor)
	if err != nil {
		return fmt.Errorf("%s floor: %w", name, err)
	}
	wr, err := summarize(wrapped)
	if err != nil {
		return fmt.Errorf("%s wrapped: %w", name, err)
	}
	paired, err := pairedDiffMedian(floor, wrapped)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fr, err := ratio(f.Median, d.Median)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	over, err := ratio(wr.Median, f.Median)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(w, "  floor    median %10s  p90 %10s  min %10s  (a Go program that only execs the runtime)\n", micros(f.Median), micros(f.P90), micros(f.Min))
	fmt.Fprintf(w, "  wrapper over floor: median %+.1f µs (median of paired differences %+.1f µs)\n",
		toMicros(wr.Median-f.Median), toMicros(paired))
	fmt.Fprintf(w, "floor %s %s\n", name, formatRatio(fr))
	fmt.Fprintf(w, "over-floor %s %s\n", name, formatRatio(over))
	return nil
}

// tempDir makes a temporary directory named after prefix. Its remove,
// deferred with the caller's named error, removes the directory and joins
// a failure to do so to that error.
func tempDir(prefix string) (dir string, remove func(*error), err error) {
	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, fmt.Errorf("temp dir: %w", err)
	}
	return dir, func(errp *error) {
		if rerr := os.RemoveAll(dir); rerr != nil {
			*errp = errors.Join(*errp, fmt.Errorf("remove temp dir: %w", rerr))
		}
	}, nil
}
