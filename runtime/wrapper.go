package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/eventlog"
	"github.com/execguard/execguard/state"
)

// FallbackEventLog takes events when the configured log cannot be written,
// so a full or read-only log directory does not lose them.
const FallbackEventLog = "/run/execguard/events.ndjson"

// Main runs the wrapper for argv. It returns only when the call is refused or
// the real runtime cannot be executed; the return value is the exit status.
func Main(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "execguard: empty argument list")
		return 127
	}
	cfgPath := config.PathFor(args[0])
	cfg, cfgErr := config.Load(cfgPath)
	real, err := cfg.RuntimePath(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "execguard: %v\n", err)
		return 127
	}
	call, parseErr := Parse(args)
	if decides(call, parseErr) {
		if code, refused := decide(call, parseErr, cfg, cfgErr, real); refused {
			return code
		}
	}
	return execRuntime(real, args)
}

// decides reports whether a call goes through detection: process-starting
// subcommands, and calls whose subcommand could not be read (they might be
// one). Everything else, --version, --help and features included, passes
// straight through without reading anything.
func decides(c Call, parseErr error) bool {
	if c.Info {
		return false
	}
	if c.Subcommand == "" {
		return parseErr != nil
	}
	_, ok := decisionFlags(c.Subcommand)
	return ok
}

// decide gathers the facts, records the event and reports whether the call
// is refused (and with which exit status).
func decide(c Call, parseErr error, cfg config.Config, cfgErr error, real string) (int, bool) {
	name := runtimeName(c.Args[0], real)
	var f detect.Facts
	if c.Subcommand == "" {
		// Unreadable before the subcommand: both runtimes reject such a call
		// themselves. Record it and let the runtime say why.
		f = detect.Facts{Operation: detect.OpUnknown}
		f.Caller, _ = callerOf(c)
		f.Container.Runtime = name
	} else {
		f = Gather(c, name, cfg.StateDir)
	}
	f.Cluster = detect.Cluster{ID: cfg.ClusterID, Name: cfg.ClusterName}
	if parseErr != nil {
		f.AddProblem("command line: %v", parseErr)
		if f.Operation == detect.OpExec {
			f.Process = detect.Process{} // flags unread: nothing about it is known
		}
	}
	policy := cfg.Policy()
	if cfgErr != nil {
		policy.Err = cfgErr.Error()
		f.AddProblem("%v", cfgErr)
		fmt.Fprintf(os.Stderr, "execguard: %v (using defaults where invalid)\n", cfgErr)
	}
	d := decideCall(&f, cfg, &policy)
	rec := detect.Record{Facts: f, Decision: d, Policy: policy, Host: state.LocalHost(), Time: time.Now()}
	if f.Operation == detect.OpContainerStart && !d.Block && f.Container.ID != "" {
		// The mark tells the NRI plugin this container's calls pass through
		// the wrapper (containers without one are reported as not covered),
		// and what its end event pairs with.
		mark := state.Mark{EntityID: detect.ProcessEntityID(rec), Time: detect.Timestamp(rec), Interactive: d.Interactive}
		if err := state.MarkCovered(cfg.StateDir, f.Container.ID, mark); err != nil {
			rec.Facts.AddProblem("coverage mark: %v", err)
		}
	}
	buf, err := detect.Encode(rec)
	if err == nil {
		err = writeEvent(cfg.EventLog, buf)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "execguard: event not recorded: %v\n", err)
		if policy.FailMode == detect.FailClosed && f.Operation == detect.OpExec && d.Interactive && !d.Block {
			d.Block = true
			d.Reason = "execguard: interactive exec refused: its event could not be recorded and fail mode is closed"
		}
	}
	if !d.Block {
		return 0, false
	}
	refuse(c, d.Reason)
	return 1, true
}

// writeEvent appends to the configured log, or to the fallback log when the
// configured one cannot be written.
func writeEvent(path string, buf []byte) error {
	err := eventlog.Append(path, buf)
	if err == nil || path == FallbackEventLog {
		return err
	}
	if fbErr := eventlog.Append(FallbackEventLog, buf); fbErr != nil {
		return fmt.Errorf("%v; fallback: %v", err, fbErr)
	}
	return nil
}

// refuse tells the caller why the call did not run, where each caller looks:
// stderr (conmon, CRI-O, a terminal) and, for containerd's shim, a JSON error
// line in the --log file, whose last error it reports as
// "OCI runtime exec failed: <msg>".
func refuse(c Call, reason string) {
	// On a terminal (CRI-O's streaming exec hands the runtime the user's
	// pty, possibly in raw mode) end the line with CR LF so it reads well.
	if _, err := unix.IoctlGetTermios(2, unix.TCGETS); err == nil {
		fmt.Fprint(os.Stderr, reason+"\r\n")
	} else {
		fmt.Fprintln(os.Stderr, reason)
	}
	path := logFile(c)
	if path == "" || c.Global.Get("log-format") != "json" {
		return
	}
	line, err := json.Marshal(struct {
		Level string `json:"level"`
		Msg   string `json:"msg"`
		Time  string `json:"time"`
	}{"error", reason, time.Now().Format(time.RFC3339)})
	if err != nil {
		return
	}
	if err := eventlog.Append(path, append(line, '\n')); err != nil {
		fmt.Fprintf(os.Stderr, "execguard: %v\n", err)
	}
}

// execRuntime replaces the wrapper with the real runtime: same pid, same
// file descriptors, same environment, same arguments but argv[0], which is
// the runtime's own path (crun reads its base name).
func execRuntime(real string, args []string) int {
	argv := make([]string, len(args))
	copy(argv, args)
	argv[0] = real
	err := unix.Exec(real, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "execguard: exec %s: %v\n", real, err)
	return 127
}

// runtimeName is the runtime the wrapper stands in for, for events.
func runtimeName(argv0, real string) string {
	if n := strings.TrimPrefix(filepath.Base(argv0), config.WrapperPrefix); n != "" {
		return n
	}
	return filepath.Base(real)
}
