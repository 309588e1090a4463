package main

// The cold-path benchmark (-cold): the wrapper's own work as a fresh
// process, the way every runtime call starts it. The real runtime is
// replaced by a stand-in that exits at once, so what is measured is the
// wrapper alone: its exec path (reading the specs, deciding, writing the
// event and alert) and its pass-through path, against the Go floor (a Go
// program that only execs the same stand-in) and the stand-in called
// directly, interleaved. GODEBUG=inittrace shows what package
// initialisation costs.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

func runCold(ctx context.Context, o options, w io.Writer) (err error) {
	if o.shape != shapeContainerd || o.runtime != "runc" {
		return errors.New("-cold measures runc's calls as containerd makes them; drop -shape and -runtime")
	}
	elf, err := standIn()
	if err != nil {
		return err
	}
	tmp, removeTmp, err := tempDir("execguard-bench-cold-")
	if err != nil {
		return err
	}
	defer removeTmp(&err)
	if tmp, err = filepath.Abs(tmp); err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	real := filepath.Join(tmp, "stand-in", "runc")
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		return fmt.Errorf("stand-in: %w", err)
	}
	if err := os.WriteFile(real, elf, 0o755); err != nil {
		return fmt.Errorf("stand-in: %w", err)
	}
	// The wrapper's files as for a real run; the stand-in reads none of
	// them and starts no container.
	b, err := prepare(tmp, real, o)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(b.l.root, 0o711); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	// prepare wrote the wrapper and the floor as an installer does; the
	// baseline below is written the same way.
	fmt.Fprintf(w, "execguard-bench -cold: wrapper %s as %s in front of a stand-in runtime that exits at once, beside the Go floor%s, %d iterations per side after %d warm-up, interleaved\n",
		o.wrapper, filepath.Base(b.l.wrapper), b.builtWith(), o.n, o.warmup)

	before, err := eventLines(b.eventLog)
	if err != nil {
		return err
	}
	sides := []string{real, b.floor, b.l.wrapper}
	if o.baseline != "" {
		// Called by the same name as the wrapper, from a directory of its
		// own: the wrapper finds its runtime by the name it is called by.
		base, err := absExecutable(o.baseline)
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		link := filepath.Join(tmp, "baseline", filepath.Base(b.l.wrapper))
		if err := copyExecutable(base, link); err != nil {
			return err
		}
		sides = append(sides, link)
		fmt.Fprintf(w, "baseline: %s as a fourth side\n", o.baseline)
	}
	execArgs := func() []string {
		b.execs++
		return execArgv(o.shape, o.runtime, b.l, containerdExecFiles(b.l, b.execs), b.id)
	}
	s, err := b.compare(ctx, sides, func(ctx context.Context, rt string) (time.Duration, error) {
		return b.runOnce(ctx, rt, execArgs())
	})
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	if err := reportCold(w, "exec", "interactive exec: its specs read, decided, event and alert written", s); err != nil {
		return err
	}
	after, err := eventLines(b.eventLog)
	if err != nil {
		return err
	}
	if err := checkExecEvents(after[len(before):], (len(sides)-2)*(o.warmup+o.n), o.eventsPerExec, b.id); err != nil {
		return err
	}
	s, err = b.compare(ctx, sides, func(ctx context.Context, rt string) (time.Duration, error) {
		return b.runOnce(ctx, rt, stateArgv(b.l, b.id))
	})
	if err != nil {
		return fmt.Errorf("passthrough: %w", err)
	}
	if err := reportCold(w, "passthrough", "state: configuration read, runtime resolved", s); err != nil {
		return err
	}
	for _, side := range []struct{ name, path string }{{"wrapper exec", b.l.wrapper}, {"floor", b.floor}} {
		if err := b.reportInit(ctx, w, side.name, side.path, execArgs()); err != nil {
			return err
		}
	}
	return nil
}

// runOnce times one call of rt with args, from fork to exit.
func (b *bench) runOnce(ctx context.Context, rt string, args []string) (time.Duration, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, rt, args...)
	cmd.Env = b.env
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s: %w: %s", rt, err, strings.TrimSpace(out.String()))
	}
	return elapsed, nil
}

// reportCold prints the three sides and the wrapper's own work: its median
// over the floor's, and the paired median.
func reportCold(w io.Writer, name, what string, s [][]time.Duration) error {
	sum := make([]summary, len(s))
	for i := range sum {
		var err error
		if sum[i], err = summarize(s[i]); err != nil {
			return fmt.Errorf("cold %s: %w", name, err)
		}
	}
	paired, err := pairedDiffMedian(s[1], s[2])
	if err != nil {
		return fmt.Errorf("cold %s: %w", name, err)
	}
	fmt.Fprintf(w, "cold %s (%s)\n", name, what)
	for i, label := range []string{"stand-in", "floor   ", "wrapper ", "baseline"}[:len(sum)] {
		fmt.Fprintf(w, "  %s median %10s  p90 %10s  min %10s\n", label, micros(sum[i].Median), micros(sum[i].P90), micros(sum[i].Min))
	}
	fmt.Fprintf(w, "  Go start-up (floor over stand-in): %+.1f µs\n", toMicros(sum[1].Median-sum[0].Median))
	fmt.Fprintf(w, "cold-over-floor %s %+.1f µs (median of paired differences %+.1f µs)\n",
		name, toMicros(sum[2].Median-sum[1].Median), toMicros(paired))
	if len(s) > 3 {
		bp, err := pairedDiffMedian(s[1], s[3])
		if err != nil {
			return fmt.Errorf("cold %s: %w", name, err)
		}
		fmt.Fprintf(w, "cold-over-floor baseline-%s %+.1f µs (median of paired differences %+.1f µs)\n",
			name, toMicros(sum[3].Median-sum[1].Median), toMicros(bp))
	}
	return nil
}

// initTrace is one package's line of GODEBUG=inittrace=1.
type initTrace struct {
	pkg   string
	clock float64 // ms
	bytes int
}

// reportInit runs path once with GODEBUG=inittrace=1 and prints the total
// and the costliest package initialisations.
func (b *bench) reportInit(ctx context.Context, w io.Writer, name, path string, args []string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(append([]string(nil), b.env...), "GODEBUG=inittrace=1")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("inittrace %s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	inits, err := parseInitTrace(stderr.String())
	if err != nil {
		return fmt.Errorf("inittrace %s: %w", name, err)
	}
	var total float64
	var bytes int
	for _, t := range inits {
		total += t.clock
		bytes += t.bytes
	}
	sort.SliceStable(inits, func(i, j int) bool { return inits[i].clock > inits[j].clock })
	var top []string
	for i := 0; i < len(inits) && i < 6; i++ {
		top = append(top, fmt.Sprintf("%s %.0f µs", inits[i].pkg, inits[i].clock*1000))
	}
	fmt.Fprintf(w, "inittrace %s: %d packages, %.0f µs, %d bytes; costliest: %s\n", name, len(inits), total*1000, bytes, strings.Join(top, ", "))
	return nil
}

// parseInitTrace reads lines like
// "init internal/bytealg @0.008 ms, 0.004 ms clock, 0 bytes, 0 allocs".
func parseInitTrace(s string) ([]initTrace, error) {
	var out []initTrace
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 9 || f[0] != "init" || f[6] != "clock," {
			continue
		}
		clock, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", sc.Text(), err)
		}
		n, err := strconv.Atoi(f[7])
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", sc.Text(), err)
		}
		out = append(out, initTrace{pkg: f[1], clock: clock, bytes: n})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no init lines in %q", s)
	}
	return out, nil
}

// copyExecutable writes src's content to dst (its directory created) in
// one write.
func copyExecutable(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}
