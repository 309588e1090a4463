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
	names string // long name first, then aliases: "process|p"
	arity arity
}

// flagSet describes the flags one level of the command line accepts. A
// slice literal, searched linearly: it is static data, so the wrapper pays
// nothing to set it up on calls that never read it.
type flagSet []flagSpec

// lookup finds a flag by any of its spellings and returns its long name.
func (s flagSet) lookup(name string) (string, arity, bool) {
	for _, sp := range s {
		rest := sp.names
		for rest != "" {
			var alias string
			alias, rest, _ = strings.Cut(rest, "|")
			if alias == name {
				long, _, _ := strings.Cut(sp.names, "|")
				return long, sp.arity, true
			}
		}
	}
	return "", 0, false
}

// The flags of runc 1.1+ and crun 1.8+ (reference: runtime-calls.md). Both
// runtimes treat an unknown flag as fatal, so the parser does too.
var (
	globalFlags = flagSet{
		{"root", valueFlag}, {"log", valueFlag}, {"log-format", valueFlag},
		{"log-level", valueFlag}, {"rootless", valueFlag}, {"criu", valueFlag},
		{"cgroup-manager", valueFlag},
		{"debug", boolFlag}, {"systemd-cgroup", boolFlag},
		{"version|v|V", boolFlag}, {"help|h", boolFlag},
	}
	execFlags = flagSet{
		{"process|p", valueFlag}, {"console-socket", valueFlag}, {"pid-file", valueFlag},
		{"cwd", valueFlag}, {"user|u", valueFlag}, {"env|e", valueFlag},
		{"cap|c", valueFlag}, {"preserve-fds", valueFlag}, {"process-label", valueFlag},
		{"apparmor", valueFlag}, {"cgroup", valueFlag}, {"additional-gids|g", valueFlag},
		{"pidfd-socket", valueFlag},
		{"detach|d", boolFlag}, {"no-new-privs", boolFlag}, {"ignore-paused", boolFlag},
		{"no-subreaper", boolFlag}, {"help|h", boolFlag},
		{"tty|t", optValueFlag},
	}
	createFlags = flagSet{
		{"bundle|b", valueFlag}, {"pid-file", valueFlag}, {"console-socket", valueFlag},
		{"preserve-fds", valueFlag}, {"pidfd-socket", valueFlag}, {"config|f", valueFlag},
		{"no-pivot", boolFlag}, {"no-new-keyring", boolFlag}, {"no-subreaper", boolFlag},
		{"detach|d", boolFlag}, {"keep", boolFlag}, {"help|h", boolFlag},
	}
)

// decisionFlags returns the flags of a subcommand that starts a process and
// so is parsed whole; ok is false for every other subcommand, which passes
// through once its name is known.
func decisionFlags(subcommand string) (flagSet, bool) {
	switch subcommand {
	case "exec":
		return execFlags, true
	case "create", "run":
		return createFlags, true
	}
	return nil, false
}

// passThroughFlags are read only by Call.Complete, never on the wrapper's
// path.
func passThroughFlags(subcommand string) flagSet {
	switch subcommand {
	case "kill":
		return flagSet{{"all|a", boolFlag}}
	case "delete":
		return flagSet{{"force|f", boolFlag}}
	case "ps":
		return flagSet{{"format|f", valueFlag}}
	case "update":
		return flagSet{
			{"resources|r", valueFlag}, {"blkio-weight", valueFlag}, {"cpu-period", valueFlag},
			{"cpu-quota", valueFlag}, {"cpu-share", valueFlag}, {"cpu-rt-period", valueFlag},
			{"cpu-rt-runtime", valueFlag}, {"cpuset-cpus", valueFlag}, {"cpuset-mems", valueFlag},
			{"kernel-memory", valueFlag}, {"kernel-memory-tcp", valueFlag}, {"memory", valueFlag},
			{"memory-reservation", valueFlag}, {"memory-swap", valueFlag}, {"pids-limit", valueFlag},
			{"l3-cache-schema", valueFlag}, {"mem-bw-schema", valueFlag},
		}
	}
	return nil
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
	flags, decide := decisionFlags(c.Subcommand)
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
	c.Flags = Flags{}
	err := c.parseSubcommand(passThroughFlags(c.Subcommand))
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
	long, ar, ok := set.lookup(name)
	if !ok {
		// Bundled one-letter flags (-dt), as crun's argp allows.
		if !strings.HasPrefix(tok, "--") && !hasValue && len(name) > 1 {
			return parseBundle(set, args, i, into)
		}
		return i, &ParseError{Index: i, Token: tok, Msg: "unknown flag"}
	}
	switch ar {
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
	into[long] = append(into[long], value)
	return i, nil
}

// parseBundle reads -abc as -a -b -c; only the last letter may take a value,
// from the next token or the rest of the bundle (-pFILE).
func parseBundle(set flagSet, args []string, i int, into Flags) (int, error) {
	tok := args[i]
	letters := tok[1:]
	for j := 0; j < len(letters); j++ {
		long, ar, ok := set.lookup(letters[j : j+1])
		if !ok {
			return i, &ParseError{Index: i, Token: tok, Msg: "unknown flag"}
		}
		if ar != valueFlag {
			into[long] = append(into[long], "true")
			continue
		}
		if rest := letters[j+1:]; rest != "" {
			into[long] = append(into[long], rest)
			return i, nil
		}
		if i+1 >= len(args) {
			return i, &ParseError{Index: i, Token: tok, Msg: "flag needs a value"}
		}
		into[long] = append(into[long], args[i+1])
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
