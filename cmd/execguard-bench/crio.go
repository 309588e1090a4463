package main

// The CRI-O benchmark (-crio): crictl exec through a real, private CRI-O,
// into a container whose runtime handler runs runc directly and into one
// whose handler's runtime_path is the wrapper (as `execguard install
// --engine crio` sets it up), interleaved, from crictl's start to its exit.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/test/crionode"
)

// crioOptions are the -crio flags.
type crioOptions struct {
	enabled bool
	execs   int
	warmup  int
}

func (co *crioOptions) register(fs *flag.FlagSet) {
	fs.BoolVar(&co.enabled, "crio", false, "measure crictl exec through a private CRI-O, runc directly against the wrapper as the handler's runtime_path")
	fs.IntVar(&co.execs, "crio-execs", 60, "-crio: measured execs per side")
	fs.IntVar(&co.warmup, "crio-warmup", 5, "-crio: unmeasured execs per side before measuring")
}

// wrappedHandler is the CRI-O runtime handler whose runtime_path is the
// wrapper; the handler "runc" runs runc itself.
const wrappedHandler = "execguard-runc"

func mainCRIO(co crioOptions, o options) int {
	if o.wrapper == "" || co.execs < 1 || co.warmup < 0 {
		fmt.Fprintln(os.Stderr, "execguard-bench: -crio needs -wrapper; -crio-execs must be at least 1, -crio-warmup at least 0")
		return 2
	}
	real := o.real
	if real == "" {
		real = defaultReal("runc")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runCRIO(ctx, co, o.wrapper, real, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "execguard-bench: %v\n", err)
		return 1
	}
	return 0
}

func runCRIO(ctx context.Context, co crioOptions, wrapper, real string, w io.Writer) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("-crio must run as root (it runs a private CRI-O)")
	}
	realPath, err := absExecutable(real)
	if err != nil {
		return fmt.Errorf("runc: %w", err)
	}
	wrapperPath, err := absExecutable(wrapper)
	if err != nil {
		return fmt.Errorf("wrapper: %w", err)
	}
	tmp, removeTmp, err := tempDir("execguard-bench-crio-")
	if err != nil {
		return err
	}
	defer removeTmp(&err)
	// CRI-O does not pass its environment to conmon: the wrapper runs under
	// runc's name with its configuration beside it, as install lays it out.
	libexec := filepath.Join(tmp, "libexec")
	if err := os.MkdirAll(libexec, 0o755); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	// Written with write(2), as install writes it (see prepare).
	link := filepath.Join(libexec, "runc")
	if err := copyExecutable(wrapperPath, link); err != nil {
		return fmt.Errorf("wrapper: %w", err)
	}
	eventLog := filepath.Join(tmp, "events", "events.ndjson")
	if err := os.MkdirAll(filepath.Dir(eventLog), 0o755); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if err := os.WriteFile(filepath.Join(libexec, config.BesideWrapper), []byte(wrapperConfig(eventLog, "runc", realPath)), 0o644); err != nil {
		return fmt.Errorf("wrapper config: %w", err)
	}

	n, err := crionode.Start(ctx, crionode.Options{
		RuntimePaths: map[string]string{"runc": realPath, wrappedHandler: link},
		RealRuntimes: map[string]string{"runc": realPath, wrappedHandler: realPath},
	})
	if err != nil {
		return fmt.Errorf("start CRI-O: %w", err)
	}
	defer func() {
		if cerr := n.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close CRI-O: %w", cerr))
		}
	}()
	ctrs := map[string]string{} // handler -> container id
	for _, h := range []string{"runc", wrappedHandler} {
		pod, err := n.RunPodWith(crionode.Pod{Name: "bench-" + h, Namespace: "bench", Handler: h})
		if err != nil {
			return err
		}
		if ctrs[h], err = n.CreateContainer(pod, "app", false, "sleep", "inf"); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "execguard-bench -crio: CRI-O %s, crictl exec <container> true, runc %s directly and through wrapper %s as handler %s's runtime_path, %d per side after %d warm-up, interleaved\n",
		n.Version, realPath, wrapperPath, wrappedHandler, co.execs, co.warmup)

	before, err := eventLines(eventLog)
	if err != nil {
		return err
	}
	s, err := compareSides(ctx, []string{"runc", wrappedHandler}, co.warmup, co.execs, func(ctx context.Context, h string) (time.Duration, error) {
		argv := n.CrictlArgv("exec", ctrs[h], "true")
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		elapsed := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("crictl exec (handler %s): %w: %s", h, err, strings.TrimSpace(string(out)))
		}
		return elapsed, nil
	})
	if err != nil {
		return fmt.Errorf("crio-exec: %w", err)
	}
	if err := report(w, "crio-exec", "crictl exec <container> true through CRI-O", s[0], s[1]); err != nil {
		return err
	}
	after, err := eventLines(eventLog)
	if err != nil {
		return err
	}
	// A plain exec is no interactive entry leader: one event, no alert.
	if err := checkExecEvents(after[len(before):], co.warmup+co.execs, 1, ctrs[wrappedHandler]); err != nil {
		return err
	}
	fmt.Fprintf(w, "events: %d lines for %d wrapped execs, one each, as expected\n", len(after)-len(before), co.warmup+co.execs)
	return nil
}
