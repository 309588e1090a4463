package shim

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/eventlog"
	"github.com/execguard/execguard/runtime/ttyrec"
)

// capturePipeBytes is the capacity asked for the FIFO the runc task
// service's console copy writes into: room for it to run ahead of the tee.
const capturePipeBytes = 1 << 20

// maxSessionArgs bounds the arguments each output document repeats.
const maxSessionArgs = 64

// capture tees a terminal exec's output: the runc task service copies the
// console into a FIFO of the shim's instead of containerd's, and the shim
// hands that on to containerd's FIFO and to the recording (tee).
type capture struct {
	dir  string
	fifo string // given to the runc task service as the exec's stdout
	in   *os.File
	// hold is a writer of the shim's FIFO kept open until the runc task
	// service has opened its own, so the tee does not see the end early.
	hold *os.File
	// out is containerd's FIFO; keep a reader of it, as the runc task
	// service keeps one, so the copy never fails on a client gone.
	out, keep *os.File
	rec       *ttyrec.Recording
	cast      string
	log       func(level, format string, args ...any)

	mu      sync.Mutex
	running bool
	// done is closed once the output is handed on and recorded, or the
	// capture released without running.
	done     chan struct{}
	doneOnce sync.Once
}

// captureDrain bounds the wait of an exec's delete for its output to be
// handed on, as the runc task service bounds its own copy's.
const captureDrain = 10 * time.Second

// wait waits for the tee to hand on the exec's output: containerd's client
// closes its FIFO once the exec is deleted.
func (c *capture) wait() {
	t := time.NewTimer(captureDrain)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		c.log("warning", "terminal recording %s: output still being handed on after %s", c.cast, captureDrain)
	}
}

// newCapture sets up the capture of the exec r for the recording rec
// (the exec's decided record): the shim's FIFO, containerd's FIFO opened,
// the cast file and the recording. On success r's stdout is the shim's
// FIFO.
func newCapture(r *taskAPI.ExecProcessRequest, rec detect.Record, cfg config.Config, workDir string, self detect.Caller, log func(level, format string, args ...any)) (_ *capture, err error) {
	stdout := r.Stdout
	if stdout == "" {
		return nil, errors.New("the exec has no stdout to record")
	}
	if u, perr := url.Parse(stdout); perr == nil && u.Scheme != "" && u.Scheme != "fifo" {
		return nil, fmt.Errorf("stdout %q is no FIFO (scheme %s)", stdout, u.Scheme)
	}
	stdout = strings.TrimPrefix(stdout, "fifo://")
	c := &capture{log: log, done: make(chan struct{})}
	defer func() {
		if err != nil {
			c.close()
			if c.cast != "" {
				os.Remove(c.cast)
			}
		}
	}()
	if c.dir, err = os.MkdirTemp(workDir, "execguard-tty-"); err != nil {
		return nil, fmt.Errorf("capture directory: %w", err)
	}
	c.fifo = filepath.Join(c.dir, "stdout")
	if err = unix.Mkfifo(c.fifo, 0o600); err != nil {
		return nil, fmt.Errorf("capture FIFO %s: %w", c.fifo, err)
	}
	if c.in, err = openFIFO(c.fifo, unix.O_RDONLY, capturePipeBytes); err != nil {
		return nil, err
	}
	if c.hold, err = openFIFO(c.fifo, unix.O_WRONLY, 0); err != nil {
		return nil, err
	}
	f := rec.Facts
	name := ttyrec.CastName(f.ExecID, f.Container.ID, rec.Time)
	castW, castPath, err := ttyrec.CreateCast(ttyrec.CastDir(cfg.EventLog), name)
	if err != nil {
		return nil, err
	}
	c.cast = castPath
	args := f.Process.Args
	if len(args) > maxSessionArgs {
		args = args[:maxSessionArgs]
	}
	logw := eventlog.Log{Path: cfg.EventLog, StateDir: cfg.StateDir, LockWait: LockWait}
	c.rec, err = ttyrec.New(ttyrec.Options{
		Lifecycle: detect.Lifecycle{Container: f.Container, Cluster: f.Cluster, Host: rec.Host, Agent: Agent},
		Session: detect.Session{
			EntityID: detect.ProcessEntityID(rec), Start: detect.Timestamp(rec),
			Args: rec.Redactor.Args(args), Interactive: rec.Decision.Interactive,
			UserID: strconv.FormatUint(uint64(f.Process.UID), 10), ExecID: f.ExecID, Caller: self,
		},
		Redactor: rec.Redactor,
		Emit: func(line []byte) error {
			out, err := logw.Write(line)
			if out == eventlog.Written {
				return nil
			}
			return err
		},
		Cast:     castW,
		MaxBytes: cfg.TTYRecordCap(),
		Start:    rec.Time,
	})
	if err != nil {
		castW.Close()
		return nil, err
	}
	// containerd's FIFO last: closing a writer of it on a failure after
	// this would end the client's output.
	var st unix.Stat_t
	if err = unix.Stat(stdout, &st); err != nil {
		return nil, fmt.Errorf("stdout %s: %w", stdout, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil, fmt.Errorf("stdout %s is no FIFO", stdout)
	}
	if c.keep, err = openFIFO(stdout, unix.O_RDONLY, 0); err != nil {
		return nil, err
	}
	if c.out, err = openFIFO(stdout, unix.O_WRONLY, 0); err != nil {
		return nil, err
	}
	r.Stdout = c.fifo
	return c, nil
}

// openFIFO opens a FIFO without waiting for its other side; the file is
// non-blocking, so Go's poller waits for it. size > 0 asks for a pipe of
// that capacity (a larger pipe lets the console copy run ahead of the tee;
// the default capacity still works).
func openFIFO(path string, mode, size int) (*os.File, error) {
	fd, err := unix.Open(path, mode|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open FIFO %s: %w", path, err)
	}
	if size > 0 {
		_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, size)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// start starts the tee, which runs until the runc task service closes its
// end of the shim's FIFO.
func (c *capture) start() {
	c.mu.Lock()
	c.running = true
	in, out, rec := c.in, c.out, c.rec
	c.mu.Unlock()
	go func() {
		if err := tee(in, out, rec); err != nil {
			c.log("warning", "terminal output copy: %v", err)
		}
		c.close()
	}()
}

// abort releases a capture whose tee never started (the exec was refused,
// failed or never started); a running tee ends with its output.
func (c *capture) abort() {
	c.mu.Lock()
	running := c.running
	c.mu.Unlock()
	if running {
		c.release() // the exec's end: the output ends when runc's copy does
		return
	}
	c.close()
	if c.cast != "" {
		os.Remove(c.cast) // nothing ran: no session to replay
	}
}

// release closes the writer the shim holds of its own FIFO.
func (c *capture) release() {
	c.mu.Lock()
	if c.hold != nil {
		c.hold.Close()
		c.hold = nil
	}
	c.mu.Unlock()
}

// started is called once the runc task service has started the process and
// opened the shim's FIFO: pid is the process, tty its terminal (Known when
// it was read), which the output documents name.
func (c *capture) started(pid uint32, tty detect.TTY) {
	c.release()
	c.mu.Lock()
	rec := c.rec
	c.mu.Unlock()
	if pid == 0 || rec == nil {
		return
	}
	rec.SetSession(func(s *detect.Session) {
		s.PID = pid
		if tty.Known {
			s.TTY.Major, s.TTY.Minor, s.TTY.Known = tty.Major, tty.Minor, true
		}
	})
}

// close ends the recording, then releases everything: the client sees
// the end of its output once the session's last document is written.
func (c *capture) close() {
	c.mu.Lock()
	files := []*os.File{c.hold, c.in, c.out, c.keep}
	rec, dir := c.rec, c.dir
	c.hold, c.in, c.out, c.keep, c.rec, c.dir = nil, nil, nil, nil, nil, ""
	c.mu.Unlock()
	if rec != nil {
		st := rec.Close()
		if st.EmitErrors > 0 || st.CastErr != nil || st.Dropped > 0 {
			c.log("warning", "terminal recording %s: %d of %d documents not written, cast error %v, %d bytes dropped with the buffer full", c.cast, st.EmitErrors, st.Documents, st.CastErr, st.Dropped)
		}
	}
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
	c.doneOnce.Do(func() { close(c.done) })
}

// ttyOf reads the controlling terminal of process pid from /proc: tty_nr,
// the 7th field of its stat.
func ttyOf(pid uint32) (detect.TTY, bool) {
	data, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/stat")
	if err != nil {
		return detect.TTY{}, false
	}
	// The command name (2nd field) is in parentheses and may hold blanks.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return detect.TTY{}, false
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 5 {
		return detect.TTY{}, false
	}
	nr, err := strconv.ParseUint(fields[4], 10, 32) // state ppid pgrp session tty_nr
	if err != nil || nr == 0 {
		return detect.TTY{}, false
	}
	return detect.TTY{Major: uint32((nr >> 8) & 0xfff), Minor: uint32((nr & 0xff) | ((nr >> 12) & 0xfff00)), Known: true}, true
}

// resize tells the recording the terminal's size.
func (c *capture) resize(rows, cols uint32) {
	c.mu.Lock()
	rec := c.rec
	c.mu.Unlock()
	if rec != nil {
		rec.Resize(uint16(min(rows, 0xffff)), uint16(min(cols, 0xffff)))
	}
}
