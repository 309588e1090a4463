package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// diagf reports a diagnostic of the wrapper where the runtime's own go and
// its caller looks for them: the --log file, in the --log-format the caller
// asked for, else stderr. Never stdout, which may be the exec'd process's.
func diagf(c Call, level, format string, args ...any) {
	msg := "execguard: " + fmt.Sprintf(format, args...)
	if runtimeLog(c, level, msg) == errNoLog {
		fmt.Fprintln(os.Stderr, msg)
	}
}

var errNoLog = fmt.Errorf("no runtime log")

// runtimeLog appends one line to the runtime's --log file: JSON as runc and
// crun write it with --log-format json ({"level","msg","time"}), else
// logrus's text form that runc writes by default. errNoLog: the call names
// no log file.
func runtimeLog(c Call, level, msg string) error {
	path := logFile(c)
	if path == "" {
		return errNoLog
	}
	now := time.Now().Format(time.RFC3339Nano)
	var line []byte
	if c.Global.Get("log-format") == "json" {
		var err error
		line, err = json.Marshal(struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}{level, msg, now})
		if err != nil {
			return err
		}
	} else {
		line = fmt.Appendf(nil, "time=%s level=%s msg=%s", strconv.Quote(now), level, strconv.Quote(msg))
	}
	line = append(line, '\n')
	// The engine chose this file for the runtime, which opens it the same
	// way; O_NONBLOCK keeps a FIFO without a reader from blocking the call.
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0o600)
	if err != nil {
		return fmt.Errorf("runtime log %s: %w", path, err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, line); err != nil {
		return fmt.Errorf("runtime log %s: %w", path, err)
	}
	return nil
}
