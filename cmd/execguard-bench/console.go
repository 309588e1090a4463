package main

import (
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// consoleSocket is the caller's end of runc's --console-socket: runc connects
// and sends the exec's pty master over SCM_RIGHTS, as it does to
// containerd's shim.
type consoleSocket struct {
	path string
	l    *net.UnixListener
}

func listenConsole(path string) (*consoleSocket, error) {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	return &consoleSocket{path: path, l: l}, nil
}

func (c *consoleSocket) Close() error { return c.l.Close() }

// setDeadline bounds the next receive; a deadline in the past aborts a
// receive that is waiting for a runtime that already failed.
func (c *consoleSocket) setDeadline(t time.Time) error {
	return c.l.SetDeadline(t)
}

// receive accepts one connection and returns the pty master fd sent over
// it. The caller keeps it open until the runtime has exited, as the shim and
// conmon keep it for the session: a master closed early hangs up the
// terminal, and crun's exec child dies of the SIGHUP before it execs.
func (c *consoleSocket) receive() (int, error) {
	conn, err := c.l.AcceptUnix()
	if err != nil {
		return -1, fmt.Errorf("console socket accept: %w", err)
	}
	defer conn.Close()
	// runc sends the pty's name as data alongside the fd.
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return -1, fmt.Errorf("console socket read: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return -1, fmt.Errorf("console socket control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			return -1, errors.Join(fmt.Errorf("console socket rights: %w", err), closeAll(fds))
		}
		fds = append(fds, got...)
	}
	if len(fds) != 1 {
		return -1, errors.Join(fmt.Errorf("console socket: got %d fds, want 1 pty master", len(fds)), closeAll(fds))
	}
	return fds[0], nil
}

func closeAll(fds []int) error {
	var errs []error
	for _, fd := range fds {
		errs = append(errs, unix.Close(fd))
	}
	return errors.Join(errs...)
}
