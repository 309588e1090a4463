package eventlog

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// SyslogSocket is the local syslog socket (journald listens on it).
const SyslogSocket = "/dev/log"

// reportLoss tells the node's system log that an event was lost, so a loss
// is on record even when the state directory cannot count it. It is
// best effort and costs nothing unless a record is lost; log/syslog would
// bring the net package into every runtime call for it.
func (l Log) reportLoss(err error) {
	sock := l.Syslog
	if sock == "" {
		sock = SyslogSocket
	}
	fd, serr := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if serr != nil {
		return
	}
	defer unix.Close(fd)
	if unix.Connect(fd, &unix.SockaddrUnix{Name: sock}) != nil {
		return
	}
	// <11>: facility user, severity error.
	msg := fmt.Sprintf("<11>%s[%d]: event lost: %v", filepath.Base(os.Args[0]), os.Getpid(), err)
	if len(msg) > 2048 {
		msg = msg[:2048]
	}
	unix.Write(fd, []byte(msg))
}
