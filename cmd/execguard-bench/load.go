package main

// The load benchmark (-load): execs through a real containerd (a private
// node: CRI, the runc shim, runc), once with runc called directly and once
// through the wrapper, and what the wrapper adds to each exec as a user
// sees it: from the crictl client's start to its exit, at a concurrency
// where the wrapper's calls contend for the event log.
//
// Both sides share one node and the same containers: the runc handler's
// BinaryName is a symlink that points at runc or at the wrapper, switched
// between rounds (the shim resolves it on every runtime call), and the
// rounds alternate which side goes first, so drift of the machine falls on
// both sides alike.
//
// With -shim the sides are two nodes instead, one whose runc handler runs
// execguard's shim and one with containerd's runc shim, both running runc
// directly, each with its own containers; the rounds alternate between them
// the same way. A shim is chosen when a pod starts, so one node cannot
// switch.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/execguard/execguard/test/node"
)

// loadOptions are the -load flags.
type loadOptions struct {
	enabled     bool
	wrapper     string
	shim        string // execguard's shim: compare it with containerd's runc shim
	real        string
	busybox     string
	containers  int
	execs       int
	concurrency int
	rounds      int
	ttyEvery    int
	warmup      int
}

func (lo *loadOptions) register(fs *flag.FlagSet) {
	fs.BoolVar(&lo.enabled, "load", false, "measure execs through a private containerd (CRI, shim, runc), runc directly vs through the wrapper (-wrapper), or containerd's runc shim vs execguard's (-shim)")
	fs.IntVar(&lo.containers, "load-containers", 20, "-load: containers the execs are spread over")
	fs.IntVar(&lo.execs, "load-execs", 500, "-load: measured execs per side")
	fs.IntVar(&lo.concurrency, "load-concurrency", 20, "-load: execs in flight at once")
	fs.IntVar(&lo.rounds, "load-rounds", 5, "-load: rounds per side, alternating sides, the execs split evenly between them")
	fs.IntVar(&lo.ttyEvery, "load-tty-every", 5, "-load: every n-th exec is interactive (crictl exec -it under script); 0 for none")
	fs.IntVar(&lo.warmup, "load-warmup", 20, "-load: unmeasured execs per side before measuring")
}

func (lo loadOptions) validate() error {
	var errs []error
	switch {
	case lo.wrapper == "" && lo.shim == "":
		errs = append(errs, errors.New("-wrapper or -shim is required"))
	case lo.wrapper != "" && lo.shim != "":
		errs = append(errs, errors.New("-wrapper and -shim compare different things; give one"))
	}
	if lo.containers < 1 || lo.execs < 1 || lo.concurrency < 1 || lo.rounds < 1 || lo.ttyEvery < 0 || lo.warmup < 0 {
		errs = append(errs, errors.New("-load-containers, -load-execs, -load-concurrency and -load-rounds must be at least 1, -load-tty-every and -load-warmup at least 0"))
	}
	if lo.rounds > lo.execs {
		errs = append(errs, fmt.Errorf("-load-rounds %d is more than -load-execs %d", lo.rounds, lo.execs))
	}
	return errors.Join(errs...)
}

// side is one way the shim reaches runc.
type side string

const (
	sideDirect  side = "direct"
	sideWrapped side = "wrapped"
)

// loadLabels name the sides and the ratios of one kind of -load run.
type loadLabels struct {
	direct, wrapped string // the sides as the report names them
	ratio, ratioP99 string // the names of the median and p99 ratio lines
}

var (
	wrapperLabels = loadLabels{direct: "direct", wrapped: "wrapped", ratio: "load-exec-median", ratioP99: "load-exec-p99"}
	shimLabels    = loadLabels{direct: "runc shim", wrapped: "execguard shim", ratio: "load-exec-shim", ratioP99: "load-exec-shim-p99"}
)

// loadBench is one -load run: the nodes of the sides, their containers and,
// comparing the wrapper, the link the shim calls.
type loadBench struct {
	opts       loadOptions
	nodes      map[side]*node.Node
	link       string // the runc handler's BinaryName; "" comparing shims
	targets    map[side]string
	eventLog   string
	containers map[side][]string
	seq        int // numbers the execs' markers
}

func runLoad(ctx context.Context, lo loadOptions, w io.Writer) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("-load must run as root (it runs a private containerd)")
	}
	real, err := absExecutable(lo.real)
	if err != nil {
		return fmt.Errorf("runc: %w", err)
	}
	// Short: the node's unix sockets live below it.
	tmp, removeTmp, err := tempDir("egload-")
	if err != nil {
		return err
	}
	defer removeTmp(&err)
	b := &loadBench{
		opts:       lo,
		nodes:      map[side]*node.Node{},
		containers: map[side][]string{},
		eventLog:   filepath.Join(tmp, "events", "events.ndjson"),
	}
	cfg := filepath.Join(tmp, "execguard.toml")
	if err := os.WriteFile(cfg, []byte(wrapperConfig(b.eventLog, "runc", real)), 0o644); err != nil {
		return fmt.Errorf("execguard config: %w", err)
	}
	labels := wrapperLabels
	var nodeOpts map[side]node.Options
	var through string
	if lo.shim != "" {
		shim, err := absExecutable(lo.shim)
		if err != nil {
			return fmt.Errorf("shim: %w", err)
		}
		labels = shimLabels
		nodeOpts = map[side]node.Options{
			sideDirect:  {Dir: filepath.Join(tmp, "runc-shim"), WrapperPath: real, BusyboxPath: lo.busybox, Runc: real},
			sideWrapped: {Dir: filepath.Join(tmp, "eg-shim"), WrapperPath: real, ShimPath: shim, WrapperConfig: cfg, BusyboxPath: lo.busybox, Runc: real},
		}
		through = fmt.Sprintf("  through containerd (CRI) and containerd's containerd-shim-runc-v2 or %s, two nodes, both running %s directly\n", shim, real)
	} else {
		wrapper, err := absExecutable(lo.wrapper)
		if err != nil {
			return fmt.Errorf("wrapper: %w", err)
		}
		b.link = filepath.Join(tmp, "rt", "execguard-runc")
		b.targets = map[side]string{sideDirect: real, sideWrapped: wrapper}
		if err := os.MkdirAll(filepath.Dir(b.link), 0o755); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		if err := b.point(sideWrapped); err != nil {
			return err
		}
		nodeOpts = map[side]node.Options{
			sideWrapped: {Dir: filepath.Join(tmp, "node"), WrapperPath: b.link, WrapperConfig: cfg, BusyboxPath: lo.busybox, Runc: real},
		}
		through = fmt.Sprintf("  through containerd (CRI, io.containerd.runc.v2 shim) to %s directly or through %s\n", real, wrapper)
	}
	for _, s := range []side{sideDirect, sideWrapped} {
		opts, ok := nodeOpts[s]
		if !ok {
			continue
		}
		n, startErr := node.Start(ctx, opts)
		if startErr != nil {
			return fmt.Errorf("%s node: %w", s, startErr)
		}
		defer func() {
			if cerr := n.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("close %s node: %w", s, cerr))
			}
		}()
		ids, ctrErr := startContainers(n, lo.containers)
		if ctrErr != nil {
			return fmt.Errorf("%s node: %w", s, ctrErr)
		}
		b.nodes[s], b.containers[s] = n, ids
	}
	if b.link != "" {
		// One node serves both sides.
		b.nodes[sideDirect], b.containers[sideDirect] = b.nodes[sideWrapped], b.containers[sideWrapped]
	}
	fmt.Fprintf(w, "execguard-bench -load: %d execs per side over %d containers, %d in flight, every %s exec interactive, %d rounds per side alternating, after %d warm-up execs per side\n",
		lo.execs, lo.containers, lo.concurrency, nth(lo.ttyEvery), lo.rounds, lo.warmup)
	fmt.Fprint(w, through)

	wrappedMarkers := map[string]bool{}
	directMarkers := map[string]bool{}
	samples := map[side][]node.ExecResult{}
	for _, s := range []side{sideDirect, sideWrapped} {
		if err := b.point(s); err != nil {
			return err
		}
		res, err := b.round(ctx, s, lo.warmup)
		if err != nil {
			return err
		}
		collectMarkers(res, s, wrappedMarkers, directMarkers)
	}
	for r := range lo.rounds {
		order := []side{sideDirect, sideWrapped}
		if r%2 == 1 {
			order = []side{sideWrapped, sideDirect}
		}
		for _, s := range order {
			if err := b.point(s); err != nil {
				return err
			}
			count := lo.execs / lo.rounds
			if r < lo.execs%lo.rounds {
				count++
			}
			res, err := b.round(ctx, s, count)
			if err != nil {
				return err
			}
			samples[s] = append(samples[s], res...)
			collectMarkers(res, s, wrappedMarkers, directMarkers)
		}
	}
	if err := reportLoad(w, samples, labels); err != nil {
		return err
	}
	lines, err := eventLines(b.eventLog)
	if err != nil {
		return err
	}
	ec, err := checkLoadEvents(lines, wrappedMarkers, directMarkers)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "events: every one of %d %s execs has exactly one exec event (%d interactive, each with one alert), none of %d %s execs has one; all %d lines of the log are whole JSON documents\n",
		len(wrappedMarkers), labels.wrapped, ec.interactive, len(directMarkers), labels.direct, len(lines))
	return nil
}

// point switches the shim's runtime binary to one side, atomically;
// comparing shims, each side has its own node and there is nothing to switch.
func (b *loadBench) point(s side) error {
	if b.link == "" {
		return nil
	}
	tmp := b.link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(b.targets[s], tmp); err != nil {
		return fmt.Errorf("point runtime link at %s: %w", s, err)
	}
	if err := os.Rename(tmp, b.link); err != nil {
		return fmt.Errorf("point runtime link at %s: %w", s, err)
	}
	return nil
}

// startContainers starts count containers on n, spread over pods of five.
func startContainers(n *node.Node, count int) ([]string, error) {
	var pod string
	var ids []string
	for i := range count {
		if i%5 == 0 {
			id, err := n.RunPod(fmt.Sprintf("load-%d", i/5), "bench")
			if err != nil {
				return nil, err
			}
			pod = id
		}
		id, err := n.CreateContainer(pod, fmt.Sprintf("app-%d", i), false, "sleep", "3600")
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// round runs count execs on side s and fails on any exec that failed or did
// not print its marker.
func (b *loadBench) round(ctx context.Context, s side, count int) ([]node.ExecResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	execs := make([]node.Exec, count)
	for i := range execs {
		b.seq++
		execs[i] = node.Exec{
			Container: b.containers[s][b.seq%len(b.containers[s])],
			TTY:       b.opts.ttyEvery > 0 && b.seq%b.opts.ttyEvery == 0,
			Cmd:       []string{"echo", fmt.Sprintf("eg-load-%s-%d", s, b.seq)},
		}
	}
	res := b.nodes[s].RunExecs(execs, b.opts.concurrency, nil)
	for _, r := range res {
		if r.Err != nil {
			return nil, fmt.Errorf("%s: %w", s, r.Err)
		}
		if marker := r.Cmd[1]; !strings.Contains(r.Output, marker) {
			return nil, fmt.Errorf("%s: exec %s printed %q", s, marker, r.Output)
		}
	}
	return res, nil
}

func collectMarkers(res []node.ExecResult, s side, wrapped, direct map[string]bool) {
	for _, r := range res {
		marker := r.Cmd[len(r.Cmd)-1]
		if s == sideWrapped {
			wrapped[marker] = r.TTY
		} else {
			direct[marker] = r.TTY
		}
	}
}

// loadStats condenses one side's latencies.
type loadStats struct {
	N             int
	Median, P90   time.Duration
	P99, Min, Max time.Duration
	MedianTTY     time.Duration
	MedianNoTTY   time.Duration
	TTYN, NoTTYN  int
}

func statsOf(res []node.ExecResult) (loadStats, error) {
	if len(res) == 0 {
		return loadStats{}, errors.New("no samples")
	}
	var all, tty, plain []time.Duration
	for _, r := range res {
		all = append(all, r.Elapsed)
		if r.TTY {
			tty = append(tty, r.Elapsed)
		} else {
			plain = append(plain, r.Elapsed)
		}
	}
	slices.Sort(all)
	slices.Sort(tty)
	slices.Sort(plain)
	st := loadStats{N: len(all), Median: quantile(all, 0.5), P90: quantile(all, 0.9), P99: quantile(all, 0.99),
		Min: all[0], Max: all[len(all)-1], TTYN: len(tty), NoTTYN: len(plain)}
	if len(tty) > 0 {
		st.MedianTTY = quantile(tty, 0.5)
	}
	if len(plain) > 0 {
		st.MedianNoTTY = quantile(plain, 0.5)
	}
	return st, nil
}

func reportLoad(w io.Writer, samples map[side][]node.ExecResult, l loadLabels) error {
	d, err := statsOf(samples[sideDirect])
	if err != nil {
		return fmt.Errorf("%s: %w", l.direct, err)
	}
	wr, err := statsOf(samples[sideWrapped])
	if err != nil {
		return fmt.Errorf("%s: %w", l.wrapped, err)
	}
	width := max(len(l.direct), len(l.wrapped), len("added"))
	pad := func(s string) string { return s + strings.Repeat(" ", width-len(s)) }
	ms := func(x time.Duration) string { return fmt.Sprintf("%.1f ms", float64(x)/float64(time.Millisecond)) }
	for _, row := range []struct {
		name string
		s    loadStats
	}{{pad(l.direct), d}, {pad(l.wrapped), wr}} {
		fmt.Fprintf(w, "  %s  n %d  median %9s  p90 %9s  p99 %9s  min %9s  max %9s  (median no tty %s over %d, tty %s over %d)\n",
			row.name, row.s.N, ms(row.s.Median), ms(row.s.P90), ms(row.s.P99), ms(row.s.Min), ms(row.s.Max),
			ms(row.s.MedianNoTTY), row.s.NoTTYN, ms(row.s.MedianTTY), row.s.TTYN)
	}
	rMed, err := ratio(wr.Median, d.Median)
	if err != nil {
		return err
	}
	rP99, err := ratio(wr.P99, d.P99)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  %s  median %+.1f ms (ratio %s)  p99 %+.1f ms (ratio %s)\n", pad("added"),
		float64(wr.Median-d.Median)/float64(time.Millisecond), formatRatio(rMed),
		float64(wr.P99-d.P99)/float64(time.Millisecond), formatRatio(rP99))
	fmt.Fprintf(w, "ratio %s %s\nratio %s %s\n", l.ratio, formatRatio(rMed), l.ratioP99, formatRatio(rP99))
	return nil
}

func nth(n int) string {
	switch n {
	case 0:
		return "no"
	case 1:
		return "single"
	case 2:
		return "2nd"
	case 3:
		return "3rd"
	}
	return fmt.Sprintf("%dth", n)
}

// loadEventCount is what checkLoadEvents found.
type loadEventCount struct {
	interactive int
}

// loadDoc holds the fields checkLoadEvents reads.
type loadDoc struct {
	Event struct {
		Kind   string `json:"kind"`
		Action string `json:"action"`
	} `json:"event"`
	Process struct {
		Args        []string `json:"args"`
		Interactive bool     `json:"interactive"`
	} `json:"process"`
}

// checkLoadEvents verifies the event log after a load: every line a single
// whole JSON document; one exec event per wrapped exec (its marker is the
// last argument), marked interactive as the exec was, one exec alert per
// interactive wrapped exec and none for the others; nothing for a direct
// exec, which never passed through the wrapper. wrapped and direct map each
// exec's marker to whether it had a terminal.
func checkLoadEvents(lines [][]byte, wrapped, direct map[string]bool) (loadEventCount, error) {
	var c loadEventCount
	events := map[string]int{}
	alerts := map[string]int{}
	var errs []error
	for i, line := range lines {
		var d loadDoc
		dec := json.NewDecoder(strings.NewReader(string(line)))
		if err := dec.Decode(&d); err != nil {
			return c, fmt.Errorf("event line %d is not a JSON document (torn?): %w: %.200s", i+1, err, line)
		}
		if dec.More() {
			return c, fmt.Errorf("event line %d holds more than one document: %.200s", i+1, line)
		}
		if d.Event.Action != "exec" || len(d.Process.Args) == 0 {
			continue
		}
		marker := d.Process.Args[len(d.Process.Args)-1]
		tty, isWrapped := wrapped[marker]
		if _, isDirect := direct[marker]; isDirect {
			errs = append(errs, fmt.Errorf("event line %d: an event for direct exec %s, which never called the wrapper", i+1, marker))
			continue
		}
		if !isWrapped {
			continue
		}
		switch d.Event.Kind {
		case "event":
			events[marker]++
			if d.Process.Interactive != tty {
				errs = append(errs, fmt.Errorf("event line %d: exec %s process.interactive %v, the exec had tty %v", i+1, marker, d.Process.Interactive, tty))
			}
		case "alert":
			alerts[marker]++
		}
	}
	for marker, tty := range wrapped {
		if n := events[marker]; n != 1 {
			errs = append(errs, fmt.Errorf("wrapped exec %s has %d exec events, want 1", marker, n))
		}
		want := 0
		if tty {
			want = 1
			c.interactive++
		}
		if n := alerts[marker]; n != want {
			errs = append(errs, fmt.Errorf("wrapped exec %s (tty %v) has %d exec alerts, want %d", marker, tty, n, want))
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	if len(errs) > 10 {
		errs = append(errs[:10], fmt.Errorf("and %d more", len(errs)-10))
	}
	return c, errors.Join(errs...)
}

// mainLoad runs -load with the flags it shares with the other benchmarks
// (-wrapper or -shim, -real, -busybox) and returns the exit status.
func mainLoad(lo loadOptions, o options, shapeName, shim string) int {
	lo.wrapper, lo.shim, lo.real, lo.busybox = o.wrapper, shim, o.real, o.busybox
	if lo.real == "" {
		lo.real = defaultReal("runc")
	}
	err := lo.validate()
	if o.runtime != "runc" || shape(shapeName) != shapeContainerd {
		err = errors.Join(err, errors.New("-load measures runc behind containerd; -runtime and -shape do not apply"))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "execguard-bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runLoad(ctx, lo, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "execguard-bench: %v\n", err)
		return 1
	}
	return 0
}
