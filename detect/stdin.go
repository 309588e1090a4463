package detect

import (
	"strings"
	"sync"
)

// StdinKind is what the process's stdin is, normalised: a process spec that
// asks for a terminal makes it a terminal whatever the front saw (a tty exec
// gets /dev/null as the runtime's fd 0 and its terminal through the console
// socket).
func (f Facts) StdinKind() Stdin {
	if f.Process.Known && f.Process.Terminal {
		return StdinTerminal
	}
	return f.Stdin
}

// StdinShell is the attached-stdin shell rule: the runtime starts a container
// entry leader without a terminal, with stdin attached, whose command is a
// shell or an interpreter that reads its commands from stdin (ReadsStdin).
// That is a working shell for whoever holds the other end of the pipe:
// crictl exec -i, podman exec -i, ctr task exec, crictl attach -i to a
// container created with stdin. A CRI ExecSync has no stdin to attach.
func StdinShell(f Facts) bool {
	if f.Operation != OpExec && f.Operation != OpContainerStart {
		return false
	}
	if f.ExecKind == ExecSync || !f.Process.Known || f.Process.Terminal {
		return false
	}
	return f.Stdin == StdinAttached && ReadsStdin(f.Process.Args)
}

// cmdKind says how a command of the table treats its arguments.
type cmdKind uint8

const (
	// kShell reads commands from stdin unless given a command string (-c)
	// or a script operand; -s, or the operand "-", make it read stdin.
	kShell cmdKind = iota + 1
	// kInterp is an interpreter: like a shell, with its own options for a
	// program given as an argument (python -c, perl -e, node -e, php -r).
	kInterp
	// kWrapper runs the command that follows its options (env, nice,
	// nohup, setsid, stdbuf, timeout, ...).
	kWrapper
	// kShellWrapper runs the command that follows its options, or, with no
	// command, an interactive shell (chroot, unshare, nsenter, su, sudo -s).
	kShellWrapper
	// kMulti is a multi-call binary: its first operand is the applet.
	kMulti
)

// command is one entry of the table: how the command reads its arguments.
type command struct {
	kind cmdKind
	// cmd are the short options whose value is the program to run (sh -c,
	// python -c, perl -e): the command reads no commands from stdin.
	cmd string
	// force are the short options that make it read stdin whatever else is
	// given (python -i, node -i, php -a, lua -i).
	force string
	// stdin are the short options that make it read stdin in place of a
	// script operand (sh -s).
	stdin string
	// valued are the short options that take a value (the rest of the word,
	// or the next word).
	valued string
	// exit are the short options that make it do something else and exit
	// (--version, --help and their short forms).
	exit string
	// longCmd, longForce, longValued and longExit are the same for long
	// options (without the leading --).
	longCmd, longForce, longValued, longExit []string
	// operands is the number of operands a wrapper takes before the command
	// (timeout DURATION, chroot NEWROOT, taskset MASK, chrt PRIORITY), or
	// that a shell takes that are no script (su USER); -1 for any number
	// (script's typescript file).
	operands int
	// assignments: a wrapper that skips NAME=VALUE words (env).
	assignments bool
	// plus: options may also start with + (sh +x, set -o/+o).
	plus bool
	// modules, for python -m: the modules that are a console on stdin.
	modules []string
	// numeric: a wrapper that takes -N options (nice -10).
	numeric bool
	// shellOpt: a shell wrapper that runs a shell without a command only
	// when asked to (sudo -s, sudo -i), and runs a command given with it
	// through that shell's -c.
	shellOpt string
}

var shell = command{kind: kShell, cmd: "c", stdin: "s", valued: "oO", plus: true,
	longValued: []string{"rcfile", "init-file"}, longExit: []string{"version", "help"}}

var node = command{kind: kInterp, cmd: "ep", force: "i", valued: "rC", exit: "hv", longCmd: []string{"eval", "print"},
	longForce: []string{"interactive"}, longValued: []string{"require", "import", "conditions", "loader"}, longExit: []string{"version", "help"}}

// commands is the one table of shells, interpreters and wrappers the
// attached-stdin shell rule knows (docs/stdin.md lists it). Names are
// compared without a leading '-' (login shells) and without a version
// suffix (python3.12, lua5.4, tclsh8.6). Built on first use: a runtime
// wrapper that never looks at an attached stdin does not pay for it.
var commands = sync.OnceValue(func() map[string]command {
	return map[string]command{
		// Shells.
		"sh": shell, "bash": shell, "rbash": shell, "ash": shell, "dash": shell, "hush": shell,
		"ksh": shell, "mksh": shell, "lksh": shell, "oksh": shell, "pdksh": shell, "yash": shell,
		"posh": shell, "zsh": shell,
		"csh":  {kind: kShell, cmd: "c", stdin: "s", longExit: []string{"version", "help"}},
		"tcsh": {kind: kShell, cmd: "c", stdin: "s", longExit: []string{"version", "help"}},
		"fish": {kind: kShell, cmd: "cC", valued: "dDfl", longCmd: []string{"command"}, longForce: []string{"interactive"},
			longValued: []string{"init-command", "debug", "features"}, force: "i", exit: "hv", longExit: []string{"version", "help"}},
		// Interpreters.
		"python": {kind: kInterp, cmd: "c", force: "i", valued: "WXQ", exit: "hV", longExit: []string{"version", "help"},
			longValued: []string{"check-hash-based-pycs"}, modules: []string{"code", "asyncio", "pdb"}},
		"pypy": {kind: kInterp, cmd: "c", force: "i", valued: "WX", exit: "hV", longExit: []string{"version", "help"},
			modules: []string{"code", "asyncio", "pdb"}},
		"perl": {kind: kInterp, cmd: "eE", valued: "IMm", exit: "hvV", longExit: []string{"version", "help"}},
		"ruby": {kind: kInterp, cmd: "e", valued: "IrCEF", exit: "hv", longExit: []string{"version", "help"}},
		"irb":  {kind: kInterp, valued: "Ir", exit: "hv", longExit: []string{"version", "help"}},
		"node": node, "nodejs": node,
		"php":    {kind: kInterp, cmd: "rfBRFE", force: "a", valued: "cdz", exit: "hvilsm", longExit: []string{"version", "help", "info", "ini"}},
		"lua":    {kind: kInterp, cmd: "e", force: "i", valued: "l", exit: "v"},
		"luajit": {kind: kInterp, cmd: "e", force: "i", valued: "lbjO", exit: "v"},
		"tclsh":  {kind: kInterp, valued: "", longValued: []string{"encoding"}},
		"wish":   {kind: kInterp},
		"expect": {kind: kInterp, cmd: "c", force: "i", valued: "f", exit: "v"},
		"jshell": {kind: kInterp},
		// Wrappers that run their command.
		"env": {kind: kWrapper, valued: "uCS", assignments: true, longValued: []string{"unset", "chdir", "split-string"},
			longExit: []string{"version", "help"}},
		"nice":    {kind: kWrapper, valued: "n", numeric: true, longValued: []string{"adjustment"}, longExit: []string{"version", "help"}},
		"nohup":   {kind: kWrapper, longExit: []string{"version", "help"}},
		"setsid":  {kind: kWrapper, exit: "hV", longExit: []string{"version", "help"}},
		"stdbuf":  {kind: kWrapper, valued: "ioe", longValued: []string{"input", "output", "error"}, longExit: []string{"version", "help"}},
		"timeout": {kind: kWrapper, valued: "sk", longValued: []string{"signal", "kill-after"}, operands: 1, longExit: []string{"version", "help"}},
		"ionice":  {kind: kWrapper, valued: "cn", exit: "hVp", longExit: []string{"version", "help", "pid"}},
		"taskset": {kind: kWrapper, operands: 1, exit: "hVp", longExit: []string{"version", "help", "pid"}},
		"chrt":    {kind: kWrapper, valued: "TPD", operands: 1, exit: "hVpm", longExit: []string{"version", "help", "pid", "max"}},
		"time":    {kind: kWrapper, valued: "fo", longValued: []string{"format", "output"}, longExit: []string{"version", "help"}},
		"exec":    {kind: kWrapper},
		"command": {kind: kWrapper},
		"sudo": {kind: kShellWrapper, shellOpt: "si", valued: "ugCDpUrtTh", exit: "VlK", longValued: []string{"user", "group", "close-from", "chdir", "prompt", "other-user", "role", "type", "host"},
			longExit: []string{"version", "help", "list"}},
		"doas":    {kind: kShellWrapper, shellOpt: "s", valued: "uC", exit: "L"},
		"chroot":  {kind: kShellWrapper, operands: 1, longValued: []string{"userspec", "groups"}, longExit: []string{"version", "help"}},
		"unshare": {kind: kShellWrapper, valued: "RwSG", longValued: []string{"root", "wd", "setuid", "setgid"}, exit: "hV", longExit: []string{"version", "help"}},
		"nsenter": {kind: kShellWrapper, valued: "tSGRw", longValued: []string{"target", "setuid", "setgid", "root", "wd"}, exit: "hV", longExit: []string{"version", "help"}},
		// su runs a shell, the user's or -s SHELL, for USER; -c is a command.
		"su": {kind: kShell, cmd: "c", valued: "sgG", operands: 1, longCmd: []string{"command", "session-command"}, longValued: []string{"shell", "group", "supp-group"}, exit: "hV", longExit: []string{"version", "help"}},
		// script runs the user's shell on a pty it allocates, fed from stdin;
		// its operand is the typescript file.
		"script": {kind: kShell, cmd: "c", operands: -1, valued: "EIOBTtm", longCmd: []string{"command"}, longValued: []string{"echo", "log-in", "log-out", "log-io", "log-timing", "logging-format", "output-limit"}, exit: "hV", longExit: []string{"version", "help"}},
		// Multi-call binaries: busybox sh, toybox sh.
		"busybox": {kind: kMulti},
		"toybox":  {kind: kMulti},
	}
})

// maxWrap bounds how many wrappers are looked through (env nice nohup sh).
const maxWrap = 8

// ReadsStdin reports whether a command line starts a shell or an interpreter
// that reads its commands from stdin: sh, bash -i, busybox sh, python3,
// python3 -, perl, node, sh -s, bash -, also behind env, nice, nohup, setsid,
// stdbuf, timeout and similar wrappers. A command string or a script given as
// an argument (sh -c '...', python3 -c, python3 script.py) is not: those read
// their commands from the argument. Commands that only read data from stdin
// (tar xf -, cat, tee, dd, gzip -d, base64 -d) are not in the table.
func ReadsStdin(args []string) bool {
	for depth := 0; depth < maxWrap && len(args) > 0; depth++ {
		c, ok := commands()[commandName(args[0])]
		if !ok {
			return false
		}
		var next []string
		var decided, reads bool
		switch c.kind {
		case kShell, kInterp:
			return c.readsStdin(args[1:])
		case kMulti:
			next = args[1:]
			if len(next) > 0 && next[0] == "--" {
				next = next[1:]
			}
		case kWrapper, kShellWrapper:
			next, decided, reads = c.wrapped(args[1:])
			if decided {
				return reads
			}
		}
		args = next
	}
	return false
}

// commandName is the table key of an argv[0]: base name, without the '-'
// of a login shell and without a version suffix.
func commandName(arg0 string) string {
	name := strings.TrimPrefix(baseName(arg0), "-")
	if _, ok := commands()[name]; ok {
		return name
	}
	trimmed := strings.TrimRight(name, "0123456789.")
	trimmed = strings.TrimSuffix(trimmed, "-")
	if trimmed == "" || trimmed == name {
		return name
	}
	if c, ok := commands()[trimmed]; ok && c.kind == kInterp {
		return trimmed
	}
	return name
}

// readsStdin parses a shell's or interpreter's arguments.
func (c command) readsStdin(args []string) bool {
	force, stdin := false, false
	operands := 0
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return force || stdin || i+1 == len(args) || args[i+1] == "-"
		case a == "-" && c.operands != 0:
			// su -: a login shell.
		case a == "-":
			return true
		case strings.HasPrefix(a, "--"):
			name, _, hasValue := strings.Cut(a[2:], "=")
			switch {
			case in(c.longExit, name):
				return false
			case in(c.longCmd, name):
				return force
			case in(c.longForce, name):
				force = true
			case in(c.longValued, name) && !hasValue:
				i++
			}
		case len(a) > 1 && (a[0] == '-' || a[0] == '+' && c.plus):
			for j := 1; j < len(a); j++ {
				l := a[j]
				switch {
				case strings.IndexByte(c.exit, l) >= 0:
					return false
				case strings.IndexByte(c.cmd, l) >= 0:
					// The program is the argument: whatever follows is its
					// own arguments.
					return force
				case l == 'm' && c.modules != nil:
					mod := a[j+1:]
					if mod == "" && i+1 < len(args) {
						mod = args[i+1]
					}
					return force || in(c.modules, mod)
				case strings.IndexByte(c.force, l) >= 0:
					force = true
				case strings.IndexByte(c.stdin, l) >= 0:
					stdin = true
				case strings.IndexByte(c.valued, l) >= 0:
					if j+1 == len(a) {
						i++
					}
					j = len(a)
				}
			}
		case c.operands < 0 || operands < c.operands:
			operands++
		default:
			// The first operand is a script, unless -s or -i say stdin.
			return force || stdin
		}
	}
	return true
}

// wrapped parses a wrapper's arguments: it returns the wrapped command, or
// decides when there is none (a wrapper that runs a shell without one).
func (c command) wrapped(args []string) (next []string, decided, reads bool) {
	operands, i := 0, 0
	asShell := false
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if operands > 0 || len(a) < 2 || a[0] != '-' {
			if c.assignments && strings.IndexByte(a, '=') > 0 {
				continue
			}
			if operands < c.operands {
				operands++
				continue
			}
			break
		}
		if strings.HasPrefix(a, "--") {
			name, value, hasValue := strings.Cut(a[2:], "=")
			switch {
			case in(c.longExit, name):
				return nil, true, false
			case name == "split-string" && c.assignments:
				rest := args[i+1:]
				if !hasValue && len(rest) > 0 {
					value, rest = rest[0], rest[1:]
				}
				return append(strings.Fields(value), rest...), false, false
			case c.shellOpt != "" && (name == "shell" || name == "login"):
				asShell = true
			case in(c.longValued, name) && !hasValue:
				i++
			}
			continue
		}
		if c.numeric && isNumber(a[1:]) {
			continue
		}
		for j := 1; j < len(a); j++ {
			l := a[j]
			switch {
			case strings.IndexByte(c.exit, l) >= 0:
				return nil, true, false
			case l == 'S' && c.assignments:
				// env -S 'sh -s': one word split into a command line.
				value, rest := a[j+1:], args[i+1:]
				if value == "" && len(rest) > 0 {
					value, rest = rest[0], rest[1:]
				}
				return append(strings.Fields(value), rest...), false, false
			case strings.IndexByte(c.shellOpt, l) >= 0:
				asShell = true
			case strings.IndexByte(c.valued, l) >= 0:
				if j+1 == len(a) {
					i++
				}
				j = len(a)
			}
		}
	}
	switch {
	case i >= len(args):
		// No command: chroot DIR, unshare, nsenter and sudo -s run a shell
		// on the same stdin; the other wrappers run nothing.
		return nil, true, c.kind == kShellWrapper && (c.shellOpt == "" || asShell)
	case asShell:
		// sudo -s CMD runs CMD through the shell's -c.
		return nil, true, false
	}
	return args[i:], false, false
}

func in(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
