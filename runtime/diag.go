package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/internal/diaglog"
)

// diagf reports a diagnostic of the wrapper: to the runtime's --log file, in
// the --log-format the caller asked for, where the engine looks for the
// runtime's own; else to the diagnostics file under the state directory.
// Never to stderr or stdout: without --log (CRI-O's streaming exec, conmon's
// execs and creates) they are the exec's or the container's own streams,
// and would show whoever opened the exec node paths and execguard's
// troubles. The system log takes what the file cannot.
func diagf(c Call, stateDir, level, format string, args ...any) {
	msg := "execguard: " + fmt.Sprintf(format, args...)
	err := runtimeLog(c, level, msg)
	if err == nil {
		return
	}
	if !errors.Is(err, errNoLog) {
		msg = fmt.Sprintf("%s (the runtime log could not take it: %v)", msg, err)
	}
	if ferr := diaglog.Append(stateDir, level, msg); ferr != nil {
		diaglog.Syslog("", level, fmt.Sprintf("%s (diagnostics file: %v)", msg, ferr))
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
	var line []byte
	if c.Global.Get("log-format") == "json" {
		var err error
		line, err = json.Marshal(struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}{level, msg, time.Now().Format(time.RFC3339Nano)})
		if err != nil {
			return err
		}
		line = append(line, '\n')
	} else {
		line = diaglog.Line(time.Now(), level, msg)
	}
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

// fatalf reports an error that stops the call: in full where diagf puts
// diagnostics, and, since the call fails anyway and its caller must learn
// why, as a short line without node paths on stderr.
func fatalf(c Call, stateDir, short, format string, args ...any) {
	diagf(c, stateDir, "error", format, args...)
	fmt.Fprint(os.Stderr, "execguard: "+short+"; `execguard status` on the node shows why"+lineEnd(2))
}
