package main

// The shim benchmark (-shim): crictl exec -it through execguard's shim
// against containerd's own runc shim, as a user sees it (from the crictl
// client's start to its exit), and each shim's resident memory once its pod
// runs. Two private nodes, one per shim, both running runc directly; the
// execs alternate between them and which goes first, so drift of the
// machine falls on both sides alike.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/execguard/execguard/test/node"
)

// shimOptions are the -shim flags.
type shimOptions struct {
	path   string
	execs  int
	warmup int
}

func (so *shimOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&so.path, "shim", "", "measure crictl exec -it through this containerd-shim-execguard-v2 against containerd's runc shim (two private nodes), and both shims' memory")
	fs.IntVar(&so.execs, "shim-execs", 100, "-shim: measured interactive execs per side")
	fs.IntVar(&so.warmup, "shim-warmup", 10, "-shim: unmeasured execs per side before measuring")
}

func mainShim(so shimOptions, o options) int {
	real := o.real
	if real == "" {
		real = defaultReal("runc")
	}
	if so.execs < 1 || so.warmup < 0 {
		fmt.Fprintln(os.Stderr, "execguard-bench: -shim-execs must be at least 1, -shim-warmup at least 0")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runShim(ctx, so, real, o.busybox, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "execguard-bench: %v\n", err)
		return 1
	}
	return 0
}

// shimSide is one node of the comparison and its container.
type shimSide struct {
	name     string
	shimName string // the shim's executable base name
	node     *node.Node
	ctr      string
	samples  []time.Duration
}

func runShim(ctx context.Context, so shimOptions, real, busybox string, w io.Writer) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("-shim must run as root (it runs private containerds)")
	}
	shim, err := absExecutable(so.path)
	if err != nil {
		return fmt.Errorf("shim: %w", err)
	}
	tmp, removeTmp, err := tempDir("egshim-")
	if err != nil {
		return err
	}
	defer removeTmp(&err)
	eventLog := filepath.Join(tmp, "events", "events.ndjson")
	cfg := filepath.Join(tmp, "execguard.toml")
	if err := os.WriteFile(cfg, []byte(wrapperConfig(eventLog, "runc", real)), 0o644); err != nil {
		return fmt.Errorf("execguard config: %w", err)
	}
	sides := []*shimSide{
		{name: "runc shim", shimName: "containerd-shim-runc-v2"},
		{name: "execguard shim", shimName: filepath.Base(shim)},
	}
	for i, s := range sides {
		opts := node.Options{Dir: filepath.Join(tmp, strconv.Itoa(i)), WrapperPath: real, Runc: real, BusyboxPath: busybox}
		if i == 1 {
			opts.ShimPath, opts.WrapperConfig = shim, cfg
		}
		n, err := node.Start(ctx, opts)
		if err != nil {
			return fmt.Errorf("%s node: %w", s.name, err)
		}
		s.node = n
		defer func() {
			if cerr := n.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("close %s node: %w", s.name, cerr))
			}
		}()
		pod, err := n.RunPod("bench", "bench")
		if err != nil {
			return err
		}
		if s.ctr, err = n.CreateContainer(pod, "app", false, "sleep", "3600"); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "execguard-bench -shim: %d crictl exec -it per side, alternating, after %d warm-up execs per side\n", so.execs, so.warmup)
	fmt.Fprintf(w, "  containerd's %s vs %s, both running %s directly\n", sides[0].shimName, shim, real)
	for i := range so.warmup + so.execs {
		order := sides
		if i%2 == 1 {
			order = []*shimSide{sides[1], sides[0]}
		}
		for _, s := range order {
			if err := ctx.Err(); err != nil {
				return err
			}
			start := time.Now()
			out, err := s.node.ExecTTY(s.ctr, "sh", "-c", "echo ok")
			d := time.Since(start)
			if err != nil || !strings.Contains(out, "ok") {
				return fmt.Errorf("%s: crictl exec -it: %v\n%s", s.name, err, out)
			}
			if i >= so.warmup {
				s.samples = append(s.samples, d)
			}
		}
	}
	base, err := summarize(sides[0].samples)
	if err != nil {
		return err
	}
	eg, err := summarize(sides[1].samples)
	if err != nil {
		return err
	}
	diff, err := pairedDiffMedian(sides[0].samples, sides[1].samples)
	if err != nil {
		return err
	}
	r, err := ratio(eg.Median, base.Median)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%-16s median %s  p90 %s  min %s\n", sides[0].name, micros(base.Median), micros(base.P90), micros(base.Min))
	fmt.Fprintf(w, "%-16s median %s  p90 %s  min %s\n", sides[1].name, micros(eg.Median), micros(eg.P90), micros(eg.Min))
	fmt.Fprintf(w, "execguard/runc median ratio %s, paired difference median %s\n", formatRatio(r), micros(diff))
	for _, s := range sides {
		rss, err := shimRSS(s.shimName, s.node.Socket)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Fprintf(w, "%-16s RSS %s (one shim serving the pod's sandbox and container)\n", s.name, rss)
	}
	lines, err := eventLines(eventLog)
	if err != nil {
		return err
	}
	if len(lines) < so.execs+so.warmup {
		return fmt.Errorf("the execguard shim wrote %d event lines for %d execs", len(lines), so.execs+so.warmup)
	}
	fmt.Fprintf(w, "events: %d lines written by the execguard shim\n", len(lines))
	return nil
}

// shimRSS is the resident memory of the shims named name serving the
// containerd at socket (their -address flag), from /proc.
func shimRSS(name, socket string) (string, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return "", err
	}
	var found []string
	for _, d := range dirs {
		exe, err := os.Readlink(filepath.Join(d, "exe"))
		if err != nil || filepath.Base(exe) != name {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(socket+"\x00")) {
			continue
		}
		status, err := os.ReadFile(filepath.Join(d, "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				found = append(found, fmt.Sprintf("pid %s %s", filepath.Base(d), strings.Join(strings.Fields(v), " ")))
			}
		}
	}
	if len(found) == 0 {
		return "", fmt.Errorf("no %s process serving %s", name, socket)
	}
	return strings.Join(found, ", "), nil
}
