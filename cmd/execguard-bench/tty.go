package main

// The terminal recording benchmark (-tty -shim): cat of a large file in a
// terminal exec through execguard's shim, recorded (a policy response with
// the record action) against not recorded, as the client sees it: from
// ctr's start under script to its exit, the output going to /dev/null. One
// node and one shim binary; the recorded container's pod is in the
// namespace the policy records, the other's is not. The sides alternate,
// and which goes first, so drift of the machine falls on both alike.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/execguard/execguard/test/node"
)

// ttyOptions are the -tty flags.
type ttyOptions struct {
	enabled bool
	n       int
	warmup  int
	sizeMB  int
}

func (to *ttyOptions) register(fs *flag.FlagSet) {
	fs.BoolVar(&to.enabled, "tty", false, "with -shim: throughput of cat of a file in a terminal exec recorded by execguard's shim against one not recorded (ratio tty-throughput)")
	fs.IntVar(&to.n, "tty-n", 5, "-tty: measured sessions per side")
	fs.IntVar(&to.warmup, "tty-warmup", 1, "-tty: unmeasured sessions per side before measuring")
	fs.IntVar(&to.sizeMB, "tty-mb", 100, "-tty: size of the file cat prints, in MB")
}

// ttyRecordPolicy records the terminal execs of namespace recorded.
const ttyRecordPolicy = `process:
  selectors:
    - name: recorded
      operation: [exec]
      kubernetesNamespace: [recorded]
  responses:
    - match: [recorded]
      actions: [record]
`

func mainTTY(to ttyOptions, o options, shim string) int {
	real := o.real
	if real == "" {
		real = defaultReal("runc")
	}
	if shim == "" || to.n < 1 || to.warmup < 0 || to.sizeMB < 1 {
		fmt.Fprintln(os.Stderr, "execguard-bench: -tty needs -shim, -tty-n of at least 1, -tty-warmup of at least 0, -tty-mb of at least 1")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runTTY(ctx, to, shim, real, o.busybox, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "execguard-bench: %v\n", err)
		return 1
	}
	return 0
}

type ttySide struct {
	name     string
	ctr      string
	shimPID  int
	cpu      time.Duration // the pod's shim's CPU time over the measured sessions
	samples  []time.Duration
	sessions int
}

func runTTY(ctx context.Context, to ttyOptions, shimPath, real, busybox string, w io.Writer) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("-tty must run as root (it runs a private containerd)")
	}
	shim, err := absExecutable(shimPath)
	if err != nil {
		return fmt.Errorf("shim: %w", err)
	}
	scriptPath, err := exec.LookPath("script")
	if err != nil {
		return fmt.Errorf("-tty drives its terminal sessions with script (util-linux): %w", err)
	}
	tmp, removeTmp, err := tempDir("egtty-")
	if err != nil {
		return err
	}
	defer removeTmp(&err)
	eventLog := filepath.Join(tmp, "events", "events.ndjson")
	policyPath := filepath.Join(tmp, "policy.yaml")
	if err := os.WriteFile(policyPath, []byte(ttyRecordPolicy), 0o644); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	cfg := filepath.Join(tmp, "execguard.toml")
	content := fmt.Sprintf("event_log = %q\nstate_dir = %q\nfail_mode = \"open\"\npolicy = %q\n\n[runtimes]\nrunc = %q\n",
		eventLog, filepath.Join(tmp, "state"), policyPath, real)
	if err := os.WriteFile(cfg, []byte(content), 0o644); err != nil {
		return fmt.Errorf("execguard config: %w", err)
	}
	n, err := node.Start(ctx, node.Options{Dir: filepath.Join(tmp, "node"), WrapperPath: real, Runc: real, BusyboxPath: busybox,
		ShimPath: shim, WrapperConfig: cfg, CommandTimeout: 10 * time.Minute})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	defer func() {
		if cerr := n.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close node: %w", cerr))
		}
	}()
	size := to.sizeMB * 1000 * 1000
	sides := []*ttySide{{name: "not recorded"}, {name: "recorded"}}
	for i, ns := range []string{"plain", "recorded"} {
		pod, err := n.RunPod("tty-"+ns, ns)
		if err != nil {
			return err
		}
		if sides[i].ctr, err = n.CreateContainer(pod, "app", false, "sleep", "3600"); err != nil {
			return err
		}
		if sides[i].shimPID, err = podShim(filepath.Base(shim), pod); err != nil {
			return err
		}
		// Lines of text, as a terminal shows them: 63 characters and a
		// newline.
		mk := fmt.Sprintf("yes %s | head -c %d > /tmp/big", strings.Repeat("x", 63), size)
		if out, err := n.Exec(sides[i].ctr, "sh", "-c", mk); err != nil {
			return fmt.Errorf("make the file: %v\n%s", err, out)
		}
	}
	fmt.Fprintf(w, "execguard-bench -tty: cat of %d MB in ctr task exec --tty (under script, output to /dev/null) through %s,\n", to.sizeMB, shim)
	fmt.Fprintf(w, "  recorded (record response, default cap) vs not recorded, %d sessions per side, alternating, after %d warm-up per side\n", to.n, to.warmup)
	for i := range to.warmup + to.n {
		order := sides
		if i%2 == 1 {
			order = []*ttySide{sides[1], sides[0]}
		}
		for _, s := range order {
			if err := ctx.Err(); err != nil {
				return err
			}
			argv := n.CtrArgv("task", "exec", "--tty", "--fifo-dir", n.FIFODir, "--exec-id", fmt.Sprintf("tty-%d-%d", i, len(s.samples)), s.ctr, "cat", "/tmp/big")
			cpu0, err := cpuTime(s.shimPID)
			if err != nil {
				return err
			}
			d, shown, err := timeSession(ctx, scriptPath, argv)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			cpu1, err := cpuTime(s.shimPID)
			if err != nil {
				return err
			}
			// The container's terminal ends each line in \r\n; the client's
			// terminal under script may add more.
			if want := int64(size + size/64); shown < want {
				return fmt.Errorf("%s: the session showed %d bytes, want at least %d", s.name, shown, want)
			}
			s.sessions++
			if i >= to.warmup {
				s.samples = append(s.samples, d)
				s.cpu += cpu1 - cpu0
			}
		}
	}
	plain, err := summarize(sides[0].samples)
	if err != nil {
		return err
	}
	rec, err := summarize(sides[1].samples)
	if err != nil {
		return err
	}
	// Throughput recorded / not recorded: the inverse of the durations.
	r, err := ratio(plain.Median, rec.Median)
	if err != nil {
		return err
	}
	mbps := func(d time.Duration) string { return fmt.Sprintf("%.0f MB/s", float64(size)/1e6/d.Seconds()) }
	for _, x := range []struct {
		name string
		s    summary
	}{{sides[0].name, plain}, {sides[1].name, rec}} {
		fmt.Fprintf(w, "%-14s median %s (%s)  p90 %s  min %s\n", x.name, x.s.Median.Round(time.Millisecond), mbps(x.s.Median), x.s.P90.Round(time.Millisecond), x.s.Min.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "shim CPU per session (user+system, its pod's shim): not recorded %s, recorded %s\n",
		(sides[0].cpu / time.Duration(to.n)).Round(time.Millisecond), (sides[1].cpu / time.Duration(to.n)).Round(time.Millisecond))
	st, err := recordedOutput(eventLog, sides)
	if err != nil {
		return err
	}
	emitted := int64(sides[1].sessions) * int64(size+size/64) // what the container's terminal wrote
	fmt.Fprintf(w, "recorded sessions: %d text_output documents, %d bytes captured, %d skipped (cap reached in %d of %d sessions) of %d written to the terminal; not recorded: %d documents\n",
		st.docs[1], st.captured, st.skipped, st.exceeded, sides[1].sessions, emitted, st.docs[0])
	if st.docs[1] == 0 || st.docs[0] != 0 {
		return errors.New("the recorded side recorded nothing, or the other side was recorded")
	}
	if st.captured+st.skipped != emitted {
		return fmt.Errorf("the recorded sessions' documents account for %d bytes, their terminals wrote %d", st.captured+st.skipped, emitted)
	}
	// The fastest sessions of each side are those the machine's other work
	// disturbed least: on a busy machine their ratio says more than the
	// medians'.
	if rm, err := ratio(plain.Min, rec.Min); err == nil {
		fmt.Fprintf(w, "fastest sessions' throughput ratio %s\n", formatRatio(rm))
	}
	fmt.Fprintf(w, "ratio tty-throughput %s\n", formatRatio(r))
	return nil
}

// timeSession runs argv under script as a terminal session whose output
// is counted and dropped, and times it.
func timeSession(ctx context.Context, scriptPath string, argv []string) (time.Duration, int64, error) {
	cmd := exec.CommandContext(ctx, scriptPath, "-qec", node.ShellQuote(argv...), "/dev/null")
	cmd.Env = append(os.Environ(), "SHELL=/bin/sh", "TERM=xterm")
	var shown countWriter
	cmd.Stdout, cmd.Stderr = &shown, &shown
	// script stops forwarding at its stdin's end: a pipe left open keeps
	// the session whole.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, 0, err
	}
	defer stdin.Close()
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return time.Since(start), int64(shown), nil
}

// countWriter counts what is written to it.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

type recordStats struct {
	docs              [2]int
	captured, skipped int64
	// exceeded counts the recorded sessions that reached the cap.
	exceeded int
}

// recordedOutput adds up the text_output documents of each side's
// container.
func recordedOutput(eventLog string, sides []*ttySide) (recordStats, error) {
	var st recordStats
	capped := map[string]bool{}
	lines, err := eventLines(eventLog)
	if err != nil {
		return st, err
	}
	for _, l := range lines {
		var d struct {
			Event     struct{ Action string }
			Container struct{ ID string }
			Execguard struct {
				ExecID string `json:"exec_id"`
			}
			Process struct {
				IO struct {
					Captured int64 `json:"total_bytes_captured"`
					Skipped  int64 `json:"total_bytes_skipped"`
					Exceeded bool  `json:"max_bytes_per_process_exceeded"`
				} `json:"io"`
			}
		}
		if json.Unmarshal(l, &d) != nil || d.Event.Action != "text_output" {
			continue
		}
		for i, s := range sides {
			if d.Container.ID != s.ctr {
				continue
			}
			st.docs[i]++
			if i == 1 {
				st.captured += d.Process.IO.Captured
				st.skipped += d.Process.IO.Skipped
				if d.Process.IO.Exceeded {
					capped[d.Execguard.ExecID] = true
				}
			}
		}
	}
	st.exceeded = len(capped)
	return st, nil
}

// podShim is the pid of the shim named name serving pod (its -id).
func podShim(name, pod string) (int, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return 0, err
	}
	for _, d := range dirs {
		exe, err := os.Readlink(filepath.Join(d, "exe"))
		if err != nil || filepath.Base(exe) != name {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), "\x00-id\x00"+pod+"\x00") {
			continue
		}
		return strconv.Atoi(filepath.Base(d))
	}
	return 0, fmt.Errorf("no %s serving pod %s", name, pod)
}

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuTime is the user and system time of process pid.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(data), ')')
	f := strings.Fields(string(data[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	// After the command: state(0) ... utime(11) stime(12).
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return time.Duration(u+s) * clockTick, nil
}
