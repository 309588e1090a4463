package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Session is a kubectl command running under script(1), with a terminal,
// driven like a person at a keyboard: wait for some output, type.
type Session struct {
	argv   []string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	cancel context.CancelFunc
	done   chan struct{}
	err    error // the exit, valid once done is closed

	mu  sync.Mutex
	out strings.Builder
}

// StartSession starts kubectl args under script; timeout bounds the whole
// session (it is killed after that).
func (c *Cluster) StartSession(timeout time.Duration, args ...string) (*Session, error) {
	argv := c.ScriptArgv(args...)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(componentEnv(), "SHELL=/bin/sh", "TERM=xterm")
	s := &Session{argv: argv, cmd: cmd, cancel: cancel, done: make(chan struct{})}
	// script stops forwarding when its stdin reaches EOF: the pipe stays open
	// until the session ends.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("session %s: %w", strings.Join(args, " "), err)
	}
	s.stdin = stdin
	cmd.Stdout = writerFunc(s.write)
	cmd.Stderr = writerFunc(s.write)
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("session %s: %w", strings.Join(args, " "), err)
	}
	go func() {
		s.err = cmd.Wait()
		if ctx.Err() != nil {
			s.err = fmt.Errorf("killed after %s: %w", timeout, ctx.Err())
		}
		close(s.done)
	}()
	return s, nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func (s *Session) write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.Write(b)
}

// Output is everything written to the terminal so far.
func (s *Session) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// Expect waits until the output matches re, the session ends or timeout
// passes.
func (s *Session) Expect(re *regexp.Regexp, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		if re.MatchString(s.Output()) {
			return nil
		}
		select {
		case <-s.done:
			if re.MatchString(s.Output()) {
				return nil
			}
			return fmt.Errorf("session ended (%v) before the output matched %q; output:\n%s", s.err, re, s.Output())
		case <-deadline:
			return fmt.Errorf("output did not match %q within %s; output:\n%s", re, timeout, s.Output())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Send types text.
func (s *Session) Send(text string) error {
	if _, err := io.WriteString(s.stdin, text); err != nil {
		return fmt.Errorf("type into the session: %w", err)
	}
	return nil
}

// Wait waits for the session to end and returns its output and exit error
// (an *exec.ExitError for a non-zero status).
func (s *Session) Wait() (string, error) {
	<-s.done
	_ = s.stdin.Close()
	s.cancel()
	return s.Output(), s.err
}

// Close kills the session if it still runs and waits for it.
func (s *Session) Close() {
	select {
	case <-s.done:
	default:
		if s.cmd.Process != nil {
			_ = s.cmd.Process.Kill()
		}
	}
	_, _ = s.Wait()
}

// ExitCode is the exit status in a Wait error, 0 for none, -1 when the
// session did not exit by itself.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		return ee.ExitCode()
	}
	return -1
}
