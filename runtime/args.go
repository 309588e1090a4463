// Package runtime is the OCI runtime wrapper: it stands in for runc or crun,
// reads what a runtime call is about to start, has detect decide, records the
// event, and then refuses the call or execve's the real runtime untouched.
package runtime

import (
	"fmt"
	"strconv"
	"strings"
)

// Call is a runc/crun command line as the wrapper reads it. The argv itself
// is never changed: it goes to the real runtime as it came.
type Call struct {
	Args []string
	// Global holds the flags before the subcommand, by long name.
	Global Flags
	// Subcommand is empty for informational calls (--version, --help) and
	// when global parsing failed.
	Subcommand string
	// Flags holds the subcommand's flags, by long name.
	Flags       Flags
	ContainerID string
	// Operands follow the container id: the command of an exec without
	// --process, the signal of kill.
	Operands []string
	// Info is set for --version and --help.
	Info bool
	// rest is the index of the first argument after the subcommand.
	rest int
}

// Flags maps a flag's long name to its values, in command-line order; the
// last value wins for single-valued flags.
type Flags map[string][]string

// Get returns the last value of a flag.
func (f Flags) Get(name string) string {
	v := f[name]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// Has reports whether a flag was given.
func (f Flags) Has(name string) bool { return len(f[name]) > 0 }

// Bool reads a boolean flag: present without a value is true; --x=false and
// crun's --tty=no are false.
func (f Flags) Bool(name string) bool {
	if !f.Has(name) {
		return false
	}
	switch strings.ToLower(f.Get(name)) {
	case "false", "no", "0", "off":
		return false
	}
	return true
}

type arity int

const (
	boolFlag     arity = iota // never takes the next token
	valueFlag                 // --x V or --x=V; V may start with '-'
	optValueFlag              // crun's --tty[=V]: a value only after '='
)

type flagSpec struct {
	long  string
	arity arity
}

// flagSet describes the flags one level of the command line accepts, by every
// spelling (long names and one-letter aliases).
type flagSet map[string]flagSpec

func newFlagSet(specs ...flagSpec) flagSet {
	s := flagSet{}
	for _, sp := range specs {
		for _, name := range strings.Split(sp.long, "|") {
			s[name] = flagSpec{long: strings.SplitN(sp.long, "|", 2)[0], arity: sp.arity}
		}
	}
	return s
}

// The flags of runc 1.1+ and crun 1.8+ (reference: runtime-calls.md). Both
// runtimes treat an unknown flag as fatal, so the parser does too.
var (
	globalFlags = newFlagSet(
		flagSpec{"root", valueFlag}, flagSpec{"log", valueFlag}, flagSpec{"log-format", valueFlag},
		flagSpec{"log-level", valueFlag}, flagSpec{"rootless", valueFlag}, flagSpec{"criu", valueFlag},
		flagSpec{"cgroup-manager", valueFlag},
		flagSpec{"debug", boolFlag}, flagSpec{"systemd-cgroup", boolFlag},
		flagSpec{"version|v|V", boolFlag}, flagSpec{"help|h", boolFlag},
	)
	execFlags = newFlagSet(
		flagSpec{"process|p", valueFlag}, flagSpec{"console-socket", valueFlag}, flagSpec{"pid-file", valueFlag},
		flagSpec{"cwd", valueFlag}, flagSpec{"user|u", valueFlag}, flagSpec{"env|e", valueFlag},
		flagSpec{"cap|c", valueFlag}, flagSpec{"preserve-fds", valueFlag}, flagSpec{"process-label", valueFlag},
		flagSpec{"apparmor", valueFlag}, flagSpec{"cgroup", valueFlag}, flagSpec{"additional-gids|g", valueFlag},
		flagSpec{"pidfd-socket", valueFlag},
		flagSpec{"detach|d", boolFlag}, flagSpec{"no-new-privs", boolFlag}, flagSpec{"ignore-paused", boolFlag},
		flagSpec{"no-subreaper", boolFlag}, flagSpec{"help|h", boolFlag},
		flagSpec{"tty|t", optValueFlag},
	)
	createFlags = newFlagSet(
		flagSpec{"bundle|b", valueFlag}, flagSpec{"pid-file", valueFlag}, flagSpec{"console-socket", valueFlag},
		flagSpec{"preserve-fds", valueFlag}, flagSpec{"pidfd-socket", valueFlag}, flagSpec{"config|f", valueFlag},
		flagSpec{"no-pivot", boolFlag}, flagSpec{"no-new-keyring", boolFlag}, flagSpec{"no-subreaper", boolFlag},
		flagSpec{"detach|d", boolFlag}, flagSpec{"keep", boolFlag}, flagSpec{"help|h", boolFlag},
	)
)

// passThroughFlags are read only by Call.Target.
var passThroughFlags = map[string]flagSet{
	"kill":   newFlagSet(flagSpec{"all|a", boolFlag}),
	"delete": newFlagSet(flagSpec{"force|f", boolFlag}),
	"ps":     newFlagSet(flagSpec{"format|f", valueFlag}),
	"update": newFlagSet(
		flagSpec{"resources|r", valueFlag}, flagSpec{"blkio-weight", valueFlag}, flagSpec{"cpu-period", valueFlag},
		flagSpec{"cpu-quota", valueFlag}, flagSpec{"cpu-share", valueFlag}, flagSpec{"cpu-rt-period", valueFlag},
		flagSpec{"cpu-rt-runtime", valueFlag}, flagSpec{"cpuset-cpus", valueFlag}, flagSpec{"cpuset-mems", valueFlag},
		flagSpec{"kernel-memory", valueFlag}, flagSpec{"kernel-memory-tcp", valueFlag}, flagSpec{"memory", valueFlag},
		flagSpec{"memory-reservation", valueFlag}, flagSpec{"memory-swap", valueFlag}, flagSpec{"pids-limit", valueFlag},
		flagSpec{"l3-cache-schema", valueFlag}, flagSpec{"mem-bw-schema", valueFlag},
	),
}

// decisionSubcommands are the calls that start a process and so are parsed
// whole. Everything else passes through once its name is known.
var decisionSubcommands = map[string]flagSet{
	"exec":   execFlags,
	"create": createFlags,
	"run":    createFlags,
}

// ParseError says where and why a command line could not be read.
type ParseError struct {
	Index int    // argv index of the offending token
	Token string // the token, quoted in the message
	Msg   string
}

func (e *ParseError) Error() string {
	if e.Token == "" {
		return e.Msg
	}
	return fmt.Sprintf("argument %d %s: %s", e.Index, quoteToken(e.Token), e.Msg)
}

// Parse reads a runtime command line. On error the Call holds what was read
// up to that point (often the subcommand), so the caller can still tell a
// pass-through call from one it must decide on.
func Parse(args []string) (Call, error) {
	c := Call{Args: args, Global: Flags{}, Flags: Flags{}}
	i := 1
	// Global flags, up to the subcommand.
	for ; i < len(args); i++ {
		tok := args[i]
		if !isFlag(tok) {
			break
		}
		if tok == "--" {
			i++
			break
		}
		next, err := parseFlag(globalFlags, args, i, c.Global)
		if err != nil {
			return c, err
		}
		i = next
	}
	if c.Global.Has("version") || c.Global.Has("help") {
		c.Info = true
		return c, nil
	}
	if i >= len(args) {
		return c, &ParseError{Index: i, Msg: "no subcommand"}
	}
	c.Subcommand = args[i]
	c.rest = i + 1
	flags, decide := decisionSubcommands[c.Subcommand]
	if !decide {
		// Pass-through: the real runtime parses the rest.
		return c, nil
	}
	return c, c.parseSubcommand(flags)
}

// Complete also reads the flags and container id of a pass-through call
// (kill, delete, state, ...), which Parse leaves unread so that those calls
// cost nothing. It is for diagnostics and tests, never on the wrapper's path.
func (c Call) Complete() (Call, error) {
	if c.ContainerID != "" || c.Info || c.Subcommand == "" || c.Subcommand == "features" {
		return c, nil
	}
	flags, ok := passThroughFlags[c.Subcommand]
	if !ok {
		flags = flagSet{}
	}
	c.Flags = Flags{}
	err := c.parseSubcommand(flags)
	return c, err
}

// parseSubcommand reads the subcommand's flags, the container id and the
// operands, from c.rest on.
func (c *Call) parseSubcommand(flags flagSet) error {
	args := c.Args
	// exec and ps stop at the container id (runc sets SkipArgReorder for
	// them, crun parses in order): what follows is the command and may start
	// with '-'. runc reorders the flags of every other subcommand, so
	// `kill ID 9 --all` is valid.
	reorder := c.Subcommand != "exec" && c.Subcommand != "ps"
	endOfFlags := false
	for i := c.rest; i < len(args); i++ {
		tok := args[i]
		if !endOfFlags && isFlag(tok) && (c.ContainerID == "" || reorder) {
			if tok == "--" {
				endOfFlags = true
				continue
			}
			next, err := parseFlag(flags, args, i, c.Flags)
			if err != nil {
				return fmt.Errorf("%s: %w", c.Subcommand, err)
			}
			i = next
			continue
		}
		if c.ContainerID == "" {
			c.ContainerID = tok
			if !reorder {
				c.Operands = args[i+1:]
				break
			}
			continue
		}
		c.Operands = append(c.Operands, tok)
	}
	if c.Flags.Has("help") {
		c.Info = true
		return nil
	}
	if c.ContainerID == "" {
		return &ParseError{Index: len(args), Msg: c.Subcommand + ": no container id"}
	}
	return nil
}

func isFlag(tok string) bool { return len(tok) > 1 && tok[0] == '-' }

// parseFlag reads the flag at args[i] into into and returns the index of the
// last token it consumed.
func parseFlag(set flagSet, args []string, i int, into Flags) (int, error) {
	tok := args[i]
	name := strings.TrimPrefix(strings.TrimPrefix(tok, "-"), "-")
	value, hasValue := "", false
	if eq := strings.IndexByte(name, '='); eq >= 0 {
		name, value, hasValue = name[:eq], name[eq+1:], true
	}
	spec, ok := set[name]
	if !ok {
		// Bundled one-letter flags (-dt), as crun's argp allows.
		if !strings.HasPrefix(tok, "--") && !hasValue && len(name) > 1 {
			return parseBundle(set, args, i, into)
		}
		return i, &ParseError{Index: i, Token: tok, Msg: "unknown flag"}
	}
	switch spec.arity {
	case boolFlag:
		if hasValue {
			if _, err := strconv.ParseBool(value); err != nil {
				return i, &ParseError{Index: i, Token: tok, Msg: "boolean flag with a non-boolean value"}
			}
		} else {
			value = "true"
		}
	case optValueFlag:
		if !hasValue {
			value = "true"
		}
	case valueFlag:
		if !hasValue {
			if i+1 >= len(args) {
				return i, &ParseError{Index: i, Token: tok, Msg: "flag needs a value"}
			}
			i++
			value = args[i]
		}
	}
	into[spec.long] = append(into[spec.long], value)
	return i, nil
}

// parseBundle reads -abc as -a -b -c; only the last letter may take a value,
// from the next token or the rest of the bundle (-pFILE).
func parseBundle(set flagSet, args []string, i int, into Flags) (int, error) {
	tok := args[i]
	letters := tok[1:]
	for j := 0; j < len(letters); j++ {
		spec, ok := set[letters[j:j+1]]
		if !ok {
			return i, &ParseError{Index: i, Token: tok, Msg: "unknown flag"}
		}
		if spec.arity != valueFlag {
			into[spec.long] = append(into[spec.long], "true")
			continue
		}
		if rest := letters[j+1:]; rest != "" {
			into[spec.long] = append(into[spec.long], rest)
			return i, nil
		}
		if i+1 >= len(args) {
			return i, &ParseError{Index: i, Token: tok, Msg: "flag needs a value"}
		}
		into[spec.long] = append(into[spec.long], args[i+1])
		return i + 1, nil
	}
	return i, nil
}

// quoteToken quotes an argument for messages, bounded and with control
// characters and invalid UTF-8 escaped.
func quoteToken(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
