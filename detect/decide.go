package detect

import (
	"fmt"
	"strconv"
)

// Action is what happens when the rule fires.
type Action string

const (
	ActionLog   Action = "log"   // an event only
	ActionAlert Action = "alert" // an event and an alert document
	ActionBlock Action = "block" // refuse the call, with an event and an alert
)

// FailMode says what happens when a decision cannot be made.
type FailMode string

const (
	FailOpen   FailMode = "open"   // record the error and let the runtime run
	FailClosed FailMode = "closed" // refuse execs whose interactivity or policy is unknown
)

// Policy is the decision setting: one action for interactive entry leaders
// and attached-stdin shells.
type Policy struct {
	Interactive Action
	FailMode    FailMode
	// Err is set when the configured policy could not be loaded; Interactive
	// then holds the default.
	Err string
}

// DefaultPolicy alerts on interactive entry leaders and attached-stdin
// shells, and fails open.
func DefaultPolicy() Policy {
	return Policy{Interactive: ActionAlert, FailMode: FailOpen}
}

// Decision is the outcome for one call.
type Decision struct {
	// Interactive is true when the rule fired.
	Interactive bool
	// StdinShell is true when the attached-stdin shell rule fired (a shell
	// without a terminal whose stdin is attached). It never fires together
	// with Interactive.
	StdinShell bool
	Action     Action
	Alert      bool
	Block      bool
	// Reason is shown to the user when the call is refused.
	Reason string
	// Selectors are the names of the policy selectors that matched.
	Selectors []string
	// PolicyRevision identifies the policy that decided (a content hash).
	PolicyRevision string
	// MatchedRules names the detection rules whose queries matched the
	// call's event; Rules are the alerts they raise (one per rule id).
	MatchedRules []string
	Rules        []RuleAlert
	// Decided are the matched rules whose alert the policy decides (the
	// seed rule, the attached-stdin shell rule), one per id: the metadata
	// of the version that matched, which that alert carries.
	Decided []RuleAlert
	// Record: a policy response asks for the session's terminal output to
	// be recorded. Only terminal execs are recorded; see RecordsTerminal.
	Record bool
}

// RecordsTerminal reports whether the decision asks for the terminal
// output of the call's process to be recorded: a terminal exec (no ExecSync)
// that a response records and none refuses.
func (d Decision) RecordsTerminal(f Facts) bool {
	return d.Record && !d.Block && f.Operation == OpExec && f.ExecKind != ExecSync && f.Process.Known && f.Process.Terminal
}

// InteractiveEntryLeader is the rule: the runtime starts a container entry
// leader (an exec'd process, which leads its own session in the container, or
// a container's init) whose process spec asks for a terminal. A CRI ExecSync
// is no session, whatever its terminal flag: CRI-O hands probes on a tty
// container the container's terminal setting.
func InteractiveEntryLeader(f Facts) bool {
	if f.Operation != OpExec && f.Operation != OpContainerStart {
		return false
	}
	if f.ExecKind == ExecSync {
		return false
	}
	return f.Process.Known && f.Process.Terminal
}

// Decide applies the rules and the policy to the facts of one call. The one
// action of the policy applies to interactive entry leaders and to
// attached-stdin shells alike: interactive_action = "block" means no shells.
func Decide(f Facts, p Policy) Decision {
	d := Decision{Interactive: InteractiveEntryLeader(f), StdinShell: StdinShell(f), Action: ActionLog}
	// Only execs fail closed: other runtime calls are never refused because
	// execguard could not work something out.
	closed := p.FailMode == FailClosed && f.Operation == OpExec
	switch {
	case !f.Process.Known && closed:
		d.Block = true
		d.Action = ActionBlock
		d.Reason = fmt.Sprintf("execguard: exec into %s refused: its process spec could not be read and fail mode is closed", f.Container.label())
		return d
	case !d.Interactive && !d.StdinShell:
		return d
	case p.Err != "" && closed:
		d.Alert, d.Block = true, true
		d.Action = ActionBlock
		d.Reason = fmt.Sprintf("execguard: %s refused: the configuration or policy could not be used and fail mode is closed", d.what(f))
		return d
	}
	d.Action = p.Interactive
	switch p.Interactive {
	case ActionAlert:
		d.Alert = true
	case ActionBlock:
		d.Alert, d.Block = true, true
		d.Reason = fmt.Sprintf("execguard: %s blocked by policy", d.what(f))
	}
	return d
}

// what names the refused call for people.
func (d Decision) what(f Facts) string {
	return DescribeCall(f, d.Interactive, d.StdinShell)
}

// DescribeCall names a call for a refusal message: an interactive exec into
// a container, a shell with attached stdin in a container, ...
func DescribeCall(f Facts, interactive, stdinShell bool) string {
	label := f.Container.label()
	switch {
	case stdinShell:
		return "shell with attached stdin in " + label
	case f.Operation == OpExec && interactive:
		return "interactive exec into " + label
	case f.Operation == OpExec:
		return "exec into " + label
	case interactive:
		return "interactive " + label
	}
	return "start of " + label
}

// label names a container for people: pod/name when known, else its id.
func (c Container) label() string {
	name := c.Name
	if name == "" {
		name = shortID(c.ID)
	}
	if c.PodName != "" {
		return fmt.Sprintf("container %q of pod %s/%s", name, NameForPeople(c.PodNamespace), NameForPeople(c.PodName))
	}
	return fmt.Sprintf("container %q", name)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// NameForPeople shows a name as it is when it is plain printable ASCII (as
// Kubernetes names are), and Go-quoted otherwise: a CRI client can give a
// pod any bytes, and a refusal reaches the user's terminal.
func NameForPeople(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return strconv.Quote(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}
