// Package eventview reads execguard's event log (NDJSON ECS documents) for
// people: it picks the fields an operator reads, filters events, and
// renders one line per event, Falco-style, with every control character
// shown escaped.
package eventview

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Event is what a reader needs of one document; Raw is the line as it was
// written, for passing it on unchanged.
type Event struct {
	Raw  []byte
	Time time.Time
	doc  document
}

// document is the subset of the ECS document eventview reads; every field
// is optional, as the log holds the wrapper's and the plugin's documents
// and may hold older or foreign ones.
type document struct {
	Timestamp string `json:"@timestamp"`
	Event     struct {
		Kind    string   `json:"kind"`
		Type    []string `json:"type"`
		Action  string   `json:"action"`
		Outcome string   `json:"outcome"`
		Reason  string   `json:"reason"`
		Dataset string   `json:"dataset"`
	} `json:"event"`
	// User is who asked for the call: on the admission webhook's
	// decisions, and on runtime events that execguard audit join
	// attributed.
	User *struct {
		Name string `json:"name"`
	} `json:"user"`
	Process *struct {
		Name        string   `json:"name"`
		Executable  string   `json:"executable"`
		Args        []string `json:"args"`
		CommandLine string   `json:"command_line"`
		Interactive *bool    `json:"interactive"`
		User        *struct {
			ID string `json:"id"`
		} `json:"user"`
		ExitCode *int64 `json:"exit_code"`
	} `json:"process"`
	Container struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Image *struct {
			Name string `json:"name"`
			Tag  string `json:"tag"`
		} `json:"image"`
	} `json:"container"`
	Orchestrator *struct {
		Namespace string `json:"namespace"`
		Resource  struct {
			Name string `json:"name"`
		} `json:"resource"`
	} `json:"orchestrator"`
	Host struct {
		Name string `json:"name"`
	} `json:"host"`
	Rule *struct {
		Name string `json:"name"`
	} `json:"rule"`
	Kibana *struct {
		Alert struct {
			Severity string `json:"severity"`
		} `json:"alert"`
	} `json:"kibana"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
	Execguard struct {
		Operation   string `json:"operation"`
		Action      string `json:"action"`
		Reason      string `json:"reason"`
		PolicyError string `json:"policy_error"`
		Stdin       string `json:"stdin"`
		StdinShell  bool   `json:"stdin_shell"`
		Audit       *struct {
			Match      string `json:"match"`
			Candidates []struct {
				User string `json:"user"`
			} `json:"candidates"`
		} `json:"audit"`
	} `json:"execguard"`
}

// Parse reads one line of the event log.
func Parse(line []byte) (Event, error) {
	e := Event{Raw: line}
	if err := json.Unmarshal(line, &e.doc); err != nil {
		return e, fmt.Errorf("not a JSON document: %w", err)
	}
	if e.doc.Timestamp == "" {
		return e, fmt.Errorf("no @timestamp")
	}
	t, err := time.Parse(time.RFC3339Nano, e.doc.Timestamp)
	if err != nil {
		return e, fmt.Errorf("@timestamp %q: want RFC 3339", e.doc.Timestamp)
	}
	e.Time = t
	return e, nil
}

// Kind is event.kind: "event" or "alert".
func (e Event) Kind() string { return e.doc.Event.Kind }

// Outcome is event.outcome: success, failure (blocked) or unknown.
func (e Event) Outcome() string { return e.doc.Event.Outcome }

// Namespace is the pod's namespace, "" outside Kubernetes.
func (e Event) Namespace() string {
	if e.doc.Orchestrator == nil {
		return ""
	}
	return e.doc.Orchestrator.Namespace
}

// Pod is the pod's name, "" outside Kubernetes.
func (e Event) Pod() string {
	if e.doc.Orchestrator == nil {
		return ""
	}
	return e.doc.Orchestrator.Resource.Name
}

// Container is the container's name, else its id.
func (e Event) Container() string {
	if e.doc.Container.Name != "" {
		return e.doc.Container.Name
	}
	return e.doc.Container.ID
}

// containerShown is the container's name, else its id cut to 12
// characters as container tools show it.
func (e Event) containerShown() string {
	if e.doc.Container.Name == "" && len(e.doc.Container.ID) > 12 {
		return e.doc.Container.ID[:12]
	}
	return e.Container()
}

// Image is the container image reference.
func (e Event) Image() string {
	im := e.doc.Container.Image
	switch {
	case im == nil:
		return ""
	case im.Tag == "":
		return im.Name
	}
	return im.Name + ":" + im.Tag
}

// Command is the process's arguments, shell-quoted where needed.
func (e Event) Command() string {
	p := e.doc.Process
	switch {
	case p == nil:
		return ""
	case len(p.Args) > 0:
		return quoteArgs(p.Args)
	case p.CommandLine != "":
		return p.CommandLine
	}
	return p.Name
}

// TTY reports process.interactive; ok is false when the document does not
// say.
func (e Event) TTY() (tty, ok bool) {
	if e.doc.Process == nil || e.doc.Process.Interactive == nil {
		return false, false
	}
	return *e.doc.Process.Interactive, true
}

// Decision is what execguard did with the call: block, alert or log
// (execguard.action); "" for documents that record no call (the NRI
// plugin's end and coverage documents).
func (e Event) Decision() string {
	switch a := e.doc.Execguard.Action; a {
	case "block", "alert", "log":
		return a
	}
	return ""
}

// Reason is event.reason, why an alert was raised.
func (e Event) Reason() string { return e.doc.Event.Reason }

// Severity is the alert's severity (kibana.alert.severity); for an event,
// "warning" when it was blocked or carries an error, "notice" for an
// interactive process, else "info".
func (e Event) Severity() string {
	switch {
	case e.doc.Kibana != nil && e.doc.Kibana.Alert.Severity != "":
		return e.doc.Kibana.Alert.Severity
	case e.Kind() == "alert":
		return "high"
	case e.Outcome() == "failure" || e.doc.Error != nil || e.doc.Execguard.PolicyError != "":
		return "warning"
	}
	if tty, _ := e.TTY(); tty || e.doc.Execguard.StdinShell {
		return "notice"
	}
	return "info"
}

// Stdin is execguard.stdin: terminal, attached or none ("" when the
// document does not say).
func (e Event) Stdin() string { return e.doc.Execguard.Stdin }

// Summary says what happened, in a few words.
func (e Event) Summary() string {
	if e.Kind() == "alert" && e.doc.Rule != nil && e.doc.Rule.Name != "" {
		return e.doc.Rule.Name
	}
	tty, _ := e.TTY()
	var what string
	action := e.doc.Event.Action
	if action == "end" {
		return e.ended(tty)
	}
	if e.doc.Execguard.Operation == "container-start" {
		// A container's first process is recorded as an exec, as Defend for
		// Containers does; execguard.operation says which it was.
		action = "container-start"
	}
	switch action {
	case "exec":
		what = "Exec"
		if tty {
			what = "Interactive exec"
		} else if e.doc.Execguard.StdinShell {
			what = "Shell with attached stdin"
		}
	case "container-start":
		what = "Container started"
		if tty {
			what = "Interactive container started"
		} else if e.doc.Execguard.StdinShell {
			what = "Container started: shell with attached stdin"
		}
	case "attach":
		what = "Attach"
		if tty {
			what = "Interactive attach"
		}
	case "":
		what = "Event"
	default:
		what = "Runtime call " + action
	}
	if e.doc.Event.Dataset == AdmissionDataset {
		if e.Outcome() == "failure" {
			return what + " refused at the API"
		}
		return what + " admitted at the API"
	}
	if e.Outcome() == "failure" {
		return what + " blocked"
	}
	return what
}

// AdmissionDataset is the admission webhook's decisions.
const AdmissionDataset = "execguard.admission"

// KubernetesUser is the Kubernetes user who asked for the call, when
// known: the webhook's decisions carry it, and so do runtime events that
// execguard audit join attributed. When the join found several candidates
// it is "ambiguous: " and their names.
func (e Event) KubernetesUser() string {
	if e.doc.User != nil && e.doc.User.Name != "" {
		return e.doc.User.Name
	}
	if a := e.doc.Execguard.Audit; a != nil && a.Match == "ambiguous" {
		var names []string
		for _, c := range a.Candidates {
			if !slices.Contains(names, c.User) {
				names = append(names, c.User)
			}
		}
		return "ambiguous: " + strings.Join(names, ", ")
	}
	return ""
}

// ended names an end event by the operation that started the process.
func (e Event) ended(tty bool) string {
	switch e.doc.Execguard.Operation {
	case "exec":
		if tty {
			return "Interactive exec ended"
		}
		return "Exec ended"
	case "container-start":
		if !tty {
			return "Container ended"
		}
	}
	// The NRI plugin ends only interactive containers' first processes,
	// and its older documents do not name the operation.
	return "Interactive container ended"
}

// quoteArgs joins arguments as a shell would need them, so that "sh -c
// 'echo hi'" reads as it was typed.
func quoteArgs(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`;&|<>()*?[]{}!#~") {
			b.WriteString(a)
			continue
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(a, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String()
}
