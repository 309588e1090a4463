package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/runtime/core"
)

// Main runs the wrapper for argv. It returns only when the call is refused or
// the real runtime cannot be executed; the return value is the exit status.
func Main(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "execguard: empty argument list")
		return 127
	}
	call, parseErr := Parse(args)
	deciding := decides(call, parseErr)
	if deciding {
		growStack(len(args))
	}
	cfg, cfgErr := config.Load(config.PathFor(args[0]))
	real, err := resolveRuntime(cfg, args[0])
	if err != nil {
		fatalf(call, cfg.StateDir, "no "+runtimeName(args[0], "")+" runtime to run", "%v", err)
		return 127
	}
	if deciding {
		if code, refused := decide(call, parseErr, cfg, cfgErr, real); refused {
			return code
		}
	} else {
		// Pass-through calls stay silent on stderr (callers parse it).
		if real.note != "" {
			diagf(call, cfg.StateDir, "warning", "%s", real.note)
		}
		if cfgErr != nil {
			diagf(call, cfg.StateDir, "warning", "%v", cfgErr)
		}
	}
	path := real.path
	err = execRuntime(call, path)
	// The configured runtime went away between its lookup and the execve
	// (an upgrade replacing it): look again, which finds the fallback.
	if again, rerr := resolveRuntime(cfg, args[0]); rerr == nil && again.path != path {
		diagf(call, cfg.StateDir, "warning", "%s", again.note)
		path = again.path
		err = execRuntime(call, path)
	}
	fatalf(call, cfg.StateDir, "the "+runtimeName(args[0], path)+" runtime could not be run", "exec %s: %v", path, err)
	return 127
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
func decide(c Call, parseErr error, cfg config.Config, cfgErr error, real resolved) (int, bool) {
	name := runtimeName(c.Args[0], real.path)
	var f detect.Facts
	if c.Subcommand == "" {
		// Unreadable before the subcommand: both runtimes reject such a call
		// themselves. Record it and let the runtime say why.
		f = detect.Facts{Operation: detect.OpUnknown}
		f.Caller, _ = callerOf(c)
		f.Container.Runtime = name
	} else {
		f = Gather(c, name, cfg.StateDir)
		GatherStdin(&f)
	}
	if real.note != "" {
		f.AddProblem("%s", real.note)
		diagf(c, cfg.StateDir, "warning", "%s", real.note)
	}
	if parseErr != nil {
		f.AddProblem("command line: %v", parseErr)
		if f.Operation == detect.OpExec {
			f.Process = detect.Process{} // flags unread: nothing about it is known
		}
	}
	if cfgErr != nil {
		diagf(c, cfg.StateDir, "warning", "%v", cfgErr)
	}
	res := core.Decide(core.Input{Facts: f, Config: cfg, ConfigErr: cfgErr, Sources: sources(cfg)})
	if level, msg := res.Diagnostic(cfg.StateDir); msg != "" {
		diagf(c, cfg.StateDir, level, "%s", msg)
	}
	d := res.Decision
	if !d.Block {
		return 0, false
	}
	refuse(c, cfg.StateDir, d.Reason)
	return 1, true
}

// growStack gives the goroutine at once the stack a decision needs: a
// 24 KiB frame makes Go grow it to 32 KiB in one step, while the stack is
// two frames deep. Grown a step at a time from Go's first stack, each
// growth copies a deeper stack, reads the position tables of every
// function on it and refills a stack pool for its size: some 50 µs of a
// deciding wrapper process's 2 ms (execguard-bench -cold). Pass-through
// calls, which read only the configuration, are left as they are.
//
//go:noinline
func growStack(n int) byte {
	var frame [24 << 10]byte
	frame[n%len(frame)] = 1
	return frame[n%len(frame)/2] // read, so the frame is kept
}

// refuse tells the caller why the call did not run, where each caller looks:
// stderr (conmon, CRI-O, a terminal) and, for containerd's shim, a JSON error
// line in the --log file, whose last error it reports as
// "OCI runtime exec failed: <msg>".
// A log that cannot take the line is a diagnostic, not the caller's.
func refuse(c Call, stateDir, reason string) {
	fmt.Fprint(os.Stderr, reason+lineEnd(2))
	// CRI-O's streaming exec passes no --log: stderr was all there is.
	if err := runtimeLog(c, "error", reason); err != nil && err != errNoLog {
		diagf(Call{}, stateDir, "warning", "refusal not written to the runtime log: %v", err)
	}
}

// lineEnd ends a line written to fd: CR LF on a terminal that does not
// translate LF itself (CRI-O's streaming exec may hand the runtime the
// user's pty in raw mode), LF everywhere else, so a terminal that does
// translate shows no doubled CR.
func lineEnd(fd int) string {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err == nil && (t.Oflag&unix.OPOST == 0 || t.Oflag&unix.ONLCR == 0) {
		return "\r\n"
	}
	return "\n"
}

// execRuntime replaces the wrapper with the real runtime: same pid, same
// file descriptors, same environment, same arguments but argv[0], which is
// the runtime's own path (crun reads its base name). It returns only when
// the execve failed, with why.
func execRuntime(c Call, real string) error {
	argv := make([]string, len(c.Args))
	copy(argv, c.Args)
	argv[0] = real
	return unix.Exec(real, argv, os.Environ())
}

// runtimeName is the runtime the wrapper stands in for, for events.
func runtimeName(argv0, real string) string {
	if n := strings.TrimPrefix(filepath.Base(argv0), config.WrapperPrefix); n != "" {
		return n
	}
	return filepath.Base(real)
}
