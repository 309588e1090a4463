package node

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// Exec is one exec of a load: which container, with a terminal or not
// (crictl exec -it under script, as a user's shell session), and the
// command.
type Exec struct {
	Container string
	TTY       bool
	Cmd       []string
}

// ExecResult is what one exec of RunExecs gave: its output (stdout, or
// what the terminal showed), its error, and how long the crictl client ran,
// from its start to its exit.
type ExecResult struct {
	Exec
	Index   int
	Start   time.Time
	Elapsed time.Duration
	Output  string
	Err     error
}

// RunExecs runs execs through CRI with at most concurrency of them in
// flight, in order of their index, and returns their results by index.
// done, when not nil, is called after each exec ends, from the goroutine
// that ran it.
func (n *Node) RunExecs(execs []Exec, concurrency int, done func(ExecResult)) []ExecResult {
	return RunExecsOn(n, execs, concurrency, done)
}

// Execer runs execs through an engine's CRI: a containerd or a CRI-O node.
type Execer interface {
	Exec(ctrID string, cmd ...string) (string, error)
	ExecTTY(ctrID string, cmd ...string) (string, error)
}

// RunExecsOn is RunExecs on any engine's node.
func RunExecsOn(n Execer, execs []Exec, concurrency int, done func(ExecResult)) []ExecResult {
	if concurrency < 1 {
		concurrency = 1
	}
	results := make([]ExecResult, len(execs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(concurrency, len(execs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := runExec(n, i, execs[i])
				results[i] = r
				if done != nil {
					done(r)
				}
			}
		}()
	}
	for i := range execs {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

func runExec(n Execer, i int, x Exec) ExecResult {
	r := ExecResult{Exec: x, Index: i, Start: time.Now()}
	if x.TTY {
		r.Output, r.Err = n.ExecTTY(x.Container, x.Cmd...)
	} else {
		r.Output, r.Err = n.Exec(x.Container, x.Cmd...)
	}
	r.Elapsed = time.Since(r.Start)
	if r.Err != nil {
		r.Err = fmt.Errorf("exec %d in %s (tty %v): %w", i, x.Container, x.TTY, r.Err)
	}
	return r
}

// ExecStreams runs cmd in the container without a terminal (crictl exec)
// and returns its stdout and stderr apart: what a runtime writes to its
// stderr during an exec reaches the exec's stderr.
func (n *Node) ExecStreams(ctrID string, cmd ...string) (stdout, stderr string, err error) {
	return ExecStreamsArgv(n.CrictlArgv(append([]string{"exec", ctrID}, cmd...)...), ctrID, n.opts.CommandTimeout)
}

// ExecStreamsArgv runs a crictl exec argv (any engine's) within timeout and
// returns its stdout and stderr apart.
func ExecStreamsArgv(argv []string, ctrID string, timeout time.Duration) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	err = c.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", timeout, ctx.Err())
	}
	if err != nil {
		err = fmt.Errorf("crictl exec %s: %w", ctrID, err)
	}
	return out.String(), errOut.String(), err
}

// RuntimeLog is the --log file the shim hands the runtime (and so the
// wrapper) on every call for the container: runc's JSON log lines, the last
// error of which the shim reports when a call fails.
func (n *Node) RuntimeLog(ctrID string) string {
	return filepath.Join(n.l.state(), "io.containerd.runtime.v2.task", "k8s.io", ctrID, "log.json")
}
