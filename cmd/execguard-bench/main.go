// Command execguard-bench measures what the execguard runtime wrapper adds to
// a runtime call, as a whole process: it runs the same runc command lines
// directly and through the wrapper, interleaved, against a throwaway
// container, and prints medians, p90s and the wrapped/direct ratios.
//
// It must run as root:
//
//	execguard-bench -wrapper ./execguard-runc -runc /usr/sbin/runc -n 200
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
)

type options struct {
	wrapper       string
	runc          string
	busybox       string
	n             int
	warmup        int
	eventsPerExec int
}

func main() {
	var o options
	flag.StringVar(&o.wrapper, "wrapper", "", "execguard runtime wrapper binary (required); called through a symlink named execguard-runc")
	flag.StringVar(&o.runc, "runc", "/usr/sbin/runc", "real runc binary")
	flag.StringVar(&o.busybox, "busybox", "/bin/busybox", "static busybox for the container's rootfs")
	flag.IntVar(&o.n, "n", 200, "measured iterations per side and comparison")
	flag.IntVar(&o.warmup, "warmup", 10, "unmeasured iterations per side before measuring")
	flag.IntVar(&o.eventsPerExec, "events-per-exec", 2,
		"event log lines each wrapped interactive exec must add (event + alert); 0 when -wrapper is not execguard")
	flag.Parse()
	if o.wrapper == "" || o.n < 1 || o.warmup < 0 || o.eventsPerExec < 0 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "execguard-bench: %v\n", err)
		os.Exit(1)
	}
}

// bench is one run's throwaway world: the temp dir and what lives in it.
type bench struct {
	opts     options
	runc     string // absolute path of the real runc
	wrapper  string // <tmp>/execguard-runc, a symlink to -wrapper
	root     string // runc --root
	id       string
	bundle   string
	logFile  string // --log, in the bundle as containerd has it
	procFile string // --process of the interactive exec
	eventLog string
	env      []string
	sock     *consoleSocket
	execs    int // names each exec's pid file
}

func run(ctx context.Context, o options, w io.Writer) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("must run as root (it creates a container with runc)")
	}
	runcPath, err := absExecutable(o.runc)
	if err != nil {
		return fmt.Errorf("runc: %w", err)
	}
	tmp, err := os.MkdirTemp("", "execguard-bench-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(tmp); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove temp dir: %w", rerr))
		}
	}()

	b, err := prepare(tmp, runcPath, o)
	if err != nil {
		return err
	}
	// Registered before the start so a half-created container goes too.
	defer func() { err = errors.Join(err, b.deleteContainer()) }()
	if err := b.startContainer(ctx); err != nil {
		return err
	}
	b.sock, err = listenConsole(filepath.Join(tmp, "pty.sock"))
	if err != nil {
		return err
	}
	defer b.sock.Close()

	fmt.Fprintf(w, "execguard-bench: runc %s, wrapper %s, %d iterations per side after %d warm-up, interleaved\n",
		b.runc, o.wrapper, o.n, o.warmup)

	before, err := eventLines(b.eventLog)
	if err != nil {
		return err
	}
	direct, wrapped, err := b.compare(ctx, b.execOnce)
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	if err := report(w, "exec", "interactive exec: --console-socket --detach, terminal true", direct, wrapped); err != nil {
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

	direct, wrapped, err = b.compare(ctx, b.stateOnce)
	if err != nil {
		return fmt.Errorf("passthrough: %w", err)
	}
	if err := report(w, "passthrough", "state", direct, wrapped); err != nil {
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

// prepare lays out the temp dir: runc root, bundle, exec process file,
// wrapper link and its config.
func prepare(tmp, runcPath string, o options) (*bench, error) {
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	// containerd's bundle dir is named after the container; keep that shape.
	bundle := filepath.Join(tmp, id)
	b := &bench{
		opts:     o,
		runc:     runcPath,
		wrapper:  filepath.Join(tmp, "execguard-runc"),
		root:     filepath.Join(tmp, "runc-root"),
		id:       id,
		bundle:   bundle,
		logFile:  filepath.Join(bundle, "log.json"),
		procFile: filepath.Join(tmp, "process.json"),
		eventLog: filepath.Join(tmp, "events.ndjson"),
	}
	for _, d := range []string{b.root, b.bundle} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	if err := makeBundle(b.bundle, o.busybox); err != nil {
		return nil, err
	}
	if err := writeJSON(b.procFile, execProcess()); err != nil {
		return nil, err
	}
	// A symlink, not a copy: the wrapper finds its runtime by the name it is
	// called by, and exec'ing the very file given keeps page-cache effects
	// out of the comparison (a freshly written copy of a binary can exec
	// measurably faster than the installed original).
	wrapperPath, err := absExecutable(o.wrapper)
	if err != nil {
		return nil, fmt.Errorf("wrapper: %w", err)
	}
	if err := os.Symlink(wrapperPath, b.wrapper); err != nil {
		return nil, fmt.Errorf("wrapper: %w", err)
	}
	cfg := filepath.Join(tmp, "config.toml")
	if err := os.WriteFile(cfg, []byte(wrapperConfig(b.eventLog, b.runc)), 0o644); err != nil {
		return nil, fmt.Errorf("wrapper config: %w", err)
	}
	// Both sides get the same environment, so only the binary differs;
	// runc ignores the variable.
	b.env = append(os.Environ(), "EXECGUARD_CONFIG="+cfg)
	return b, nil
}

func wrapperConfig(eventLog, runcPath string) string {
	return fmt.Sprintf("event_log = %q\nstate_dir = %q\ninteractive_action = \"alert\"\nfail_mode = \"open\"\n\n[runtimes]\nrunc = %q\n",
		eventLog, filepath.Join(filepath.Dir(eventLog), "state"), runcPath)
}

func randomID() (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("container id: %w", err)
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

// startContainer runs the container detached with the real runc. Its stdio
// is /dev/null: a pipe would be inherited by the container's init and never
// reach EOF. Errors come back through runc's --log.
func (b *bench) startContainer(ctx context.Context) error {
	runLog := filepath.Join(filepath.Dir(b.root), "run-log.json")
	cmd := exec.CommandContext(ctx, b.runc, "--root", b.root, "--log", runLog, "--log-format", "json",
		"run", "--detach", "--bundle", b.bundle, b.id)
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(runLog)
		return fmt.Errorf("runc run: %w: %s", err, bytes.TrimSpace(msg))
	}
	return nil
}

// deleteContainer removes the container with the real runc, if runc ever
// recorded it.
func (b *bench) deleteContainer() error {
	if _, err := os.Stat(filepath.Join(b.root, b.id)); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	out, err := exec.Command(b.runc, "--root", b.root, "delete", "--force", b.id).CombinedOutput()
	if err != nil {
		return fmt.Errorf("runc delete --force %s: %w: %s", b.id, err, bytes.TrimSpace(out))
	}
	return nil
}

// compare runs once on each side per iteration, alternating which goes
// first, so drift and order effects hit both alike. The first warmup
// iterations are not kept.
func (b *bench) compare(ctx context.Context, once func(ctx context.Context, rt string) (time.Duration, error)) (direct, wrapped []time.Duration, err error) {
	sides := [2]string{b.runc, b.wrapper}
	samples := [2][]time.Duration{make([]time.Duration, 0, b.opts.n), make([]time.Duration, 0, b.opts.n)}
	for i := range b.opts.warmup + b.opts.n {
		order := [2]int{0, 1}
		if i%2 == 1 {
			order = [2]int{1, 0}
		}
		for _, s := range order {
			if err := ctx.Err(); err != nil {
				return nil, nil, fmt.Errorf("interrupted: %w", err)
			}
			d, err := once(ctx, sides[s])
			if ctxErr := ctx.Err(); ctxErr != nil {
				// The runtime was killed by the interrupt; say so, not "killed".
				return nil, nil, fmt.Errorf("interrupted: %w", ctxErr)
			}
			if err != nil {
				return nil, nil, err
			}
			if i >= b.opts.warmup {
				samples[s] = append(samples[s], d)
			}
		}
	}
	return samples[0], samples[1], nil
}

// consoleTimeout bounds the wait for runc to hand over the pty.
const consoleTimeout = 30 * time.Second

// execOnce runs the interactive exec exactly as containerd's shim does for
// `crictl exec -it`, and times it from fork until the runtime has exited and
// the pty master has been received.
func (b *bench) execOnce(ctx context.Context, rt string) (time.Duration, error) {
	b.execs++
	pidFile := filepath.Join(b.bundle, fmt.Sprintf("%d.pid", b.execs))
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, rt, "--root", b.root, "--log", b.logFile, "--log-format", "json",
		"exec", "--process", b.procFile, "--console-socket", b.sock.path, "--detach", "--pid-file", pidFile, b.id)
	cmd.Env = b.env
	// go-runc collects a detached exec's combined output; do the same.
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := b.sock.setDeadline(time.Now().Add(consoleTimeout)); err != nil {
		return 0, fmt.Errorf("console socket: %w", err)
	}
	received := make(chan error, 1)
	go func() { received <- b.sock.receive() }()

	start := time.Now()
	runErr := cmd.Run()
	if runErr != nil {
		// Unblock the receiver: no runtime will connect now.
		_ = b.sock.setDeadline(time.Now())
	}
	recvErr := <-received
	elapsed := time.Since(start)

	if runErr != nil {
		return 0, fmt.Errorf("%s: %w: %s", filepath.Base(rt), runErr, strings.TrimSpace(out.String()))
	}
	if recvErr != nil {
		return 0, fmt.Errorf("%s: %w", filepath.Base(rt), recvErr)
	}
	if err := os.Remove(pidFile); err != nil {
		return 0, fmt.Errorf("%s: pid file: %w", filepath.Base(rt), err)
	}
	return elapsed, nil
}

// stateOnce times a call the wrapper only passes through.
func (b *bench) stateOnce(ctx context.Context, rt string) (time.Duration, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, rt, "--root", b.root, "state", b.id)
	cmd.Env = b.env
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s state: %w: %s", filepath.Base(rt), err, strings.TrimSpace(out.String()))
	}
	var st struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		return 0, fmt.Errorf("%s state output: %w: %s", filepath.Base(rt), err, out.Bytes())
	}
	if st.ID != b.id || st.Status != "running" {
		return 0, fmt.Errorf("%s state: container %q is %q, want %q running", filepath.Base(rt), st.ID, st.Status, b.id)
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
