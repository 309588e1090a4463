package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Match says how a runtime event was joined.
type Match string

const (
	// Unique: exactly one exec request fits the event, and the event is the
	// only one that fits that request.
	Unique Match = "unique"
	// Ambiguous: more than one request fits the event, or the request that
	// fits it fits other events too. No user is named.
	Ambiguous Match = "ambiguous"
	// None: no exec request fits (it bypassed the API server, or the audit
	// log does not cover it).
	None Match = "none"
)

// runtimeExec is what the join reads of one runtime event line.
type runtimeExec struct {
	Timestamp time.Time `json:"@timestamp"`
	Event     struct {
		Kind   string `json:"kind"`
		Action string `json:"action"`
	} `json:"event"`
	Process *struct {
		EntityID    string   `json:"entity_id"`
		Args        []string `json:"args"`
		Interactive *bool    `json:"interactive"`
	} `json:"process"`
	Container struct {
		Name string `json:"name"`
	} `json:"container"`
	Orchestrator *struct {
		Namespace string `json:"namespace"`
		Resource  struct {
			Name string `json:"name"`
		} `json:"resource"`
	} `json:"orchestrator"`
	Agent struct {
		Name string `json:"name"`
	} `json:"agent"`
	Execguard struct {
		Operation string `json:"operation"`
	} `json:"execguard"`
}

// operation is what the runtime started: "exec" or "container-start". A
// container's first process is recorded with event.action exec, as Defend
// for Containers records it; execguard.operation tells it apart (older
// documents said container-start in event.action).
func (r *runtimeExec) operation() string {
	if r.Event.Action == "exec" && r.Execguard.Operation != "" {
		return r.Execguard.Operation
	}
	return r.Event.Action // "end" for an end event, which names its start's operation
}

// Options tune the join.
type Options struct {
	// Skew widens each request's window on both sides, for clocks of the
	// API server and the node that differ, and for the time between the
	// request's reception and its ResponseStarted stage.
	Skew time.Duration
	// StartWithin bounds how long after its request an ephemeral container
	// may start (image pull included); 0 is DefaultStartWithin.
	StartWithin time.Duration
}

// DefaultStartWithin is Options.StartWithin's default.
const DefaultStartWithin = 5 * time.Minute

// Requests are the API requests a join matches events to.
type Requests struct {
	// Execs are pods/exec requests, matched to exec events.
	Execs []*Exec
	// Debugs are pods/ephemeralcontainers updates, matched to the start
	// events of the ephemeral containers they name.
	Debugs []*Exec
}

// Requests returns what the collector gathered.
func (c *Collector) Requests() Requests { return Requests{Execs: c.Execs(), Debugs: c.Debugs()} }

// Result is the outcome of one join: how the exec events matched, and the
// container starts an ephemeral container update fits (Starts; those no
// update fits, a pod's own containers, are not counted).
type Result struct {
	Unique, Ambiguous, None int
	Starts                  struct{ Unique, Ambiguous int }
}

// Join reads the runtime event log from events and writes an enriched copy
// of every line to out: exec events (and their alerts and end events,
// which share the process's entity id) gain user.name, user.group.name,
// source.ip, user_agent.original and execguard.audit when the match is
// unique, and execguard.audit with the candidates when it is ambiguous;
// so do the starts of ephemeral containers an update fits (kubectl debug).
// Other lines are copied unchanged.
func Join(events io.Reader, out io.Writer, reqs Requests, opts Options) (Result, error) {
	if opts.StartWithin == 0 {
		opts.StartWithin = DefaultStartWithin
	}
	var lines [][]byte
	var parsed []*runtimeExec
	sc := bufio.NewScanner(events)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		lines = append(lines, line)
		var r runtimeExec
		if json.Unmarshal(line, &r) != nil {
			parsed = append(parsed, nil)
			continue
		}
		parsed = append(parsed, &r)
	}
	if err := sc.Err(); err != nil {
		return Result{}, fmt.Errorf("read event log: %w", err)
	}

	// Candidates, both ways.
	cands := make([][]*Exec, len(parsed))
	perExec := map[string]int{}
	for i, r := range parsed {
		switch {
		case isExecStart(r):
			for _, x := range reqs.Execs {
				if fits(r, x, opts.Skew) {
					cands[i] = append(cands[i], x)
					perExec[x.AuditID]++
				}
			}
		case isDebugStart(r):
			for _, x := range reqs.Debugs {
				if fitsDebug(r, x, opts) {
					cands[i] = append(cands[i], x)
					perExec[x.AuditID]++
				}
			}
		}
	}
	type verdict struct {
		match Match
		exec  *Exec
		cands []*Exec
	}
	byEntity := map[string]verdict{}
	var res Result
	for i, r := range parsed {
		if !isExecStart(r) && !isDebugStart(r) {
			continue
		}
		v := verdict{match: None}
		switch {
		case len(cands[i]) == 1 && perExec[cands[i][0].AuditID] == 1:
			v = verdict{match: Unique, exec: cands[i][0]}
		case len(cands[i]) > 0:
			v = verdict{match: Ambiguous, cands: cands[i]}
		}
		if isDebugStart(r) {
			// Most container starts are a pod's own: only those an update
			// fits are marked.
			switch v.match {
			case None:
				continue
			case Unique:
				res.Starts.Unique++
			case Ambiguous:
				res.Starts.Ambiguous++
			}
		} else {
			switch v.match {
			case Unique:
				res.Unique++
			case Ambiguous:
				res.Ambiguous++
			default:
				res.None++
			}
		}
		byEntity[r.Process.EntityID] = v
	}

	w := bufio.NewWriter(out)
	for i, line := range lines {
		r := parsed[i]
		if r != nil && r.Process != nil && r.Process.EntityID != "" {
			if v, ok := byEntity[r.Process.EntityID]; ok {
				enriched, err := enrich(line, v.match, v.exec, v.cands)
				if err != nil {
					return res, err
				}
				line = enriched
			}
		}
		w.Write(line)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return res, fmt.Errorf("write enriched events: %w", err)
	}
	return res, nil
}

// isExecStart is a runtime exec event (the start or the refusal of an exec
// into a pod's container), the line a request is matched to.
func isExecStart(r *runtimeExec) bool {
	return r != nil && r.Event.Kind == "event" && r.operation() == "exec" && r.Process != nil &&
		r.Process.EntityID != "" && r.Orchestrator != nil && r.Agent.Name != "execguard-webhook"
}

// isDebugStart is a container start in a pod, which an ephemeral
// container update may have asked for.
func isDebugStart(r *runtimeExec) bool {
	return r != nil && r.Event.Kind == "event" && r.operation() == "container-start" && r.Process != nil &&
		r.Process.EntityID != "" && r.Orchestrator != nil && r.Container.Name != "" && r.Agent.Name != "execguard-webhook"
}

// fitsDebug says whether ephemeral container update x can have asked for
// the container start r: same pod, a container it names, started after it
// and not long after.
func fitsDebug(r *runtimeExec, x *Exec, opts Options) bool {
	if x.Code >= 400 || r.Orchestrator.Namespace != x.Namespace || r.Orchestrator.Resource.Name != x.Pod {
		return false
	}
	named := false
	for _, n := range x.Names {
		named = named || n == r.Container.Name
	}
	if !named || r.Timestamp.Before(x.Received.Add(-opts.Skew)) {
		return false
	}
	end := x.Completed
	if end.IsZero() {
		end = x.Received
	}
	return !r.Timestamp.After(end.Add(opts.Skew + opts.StartWithin))
}

// fits says whether exec request x can be the request of runtime event r:
// same pod, container, command and terminal, at a time inside the request.
func fits(r *runtimeExec, x *Exec, skew time.Duration) bool {
	// Refused before reaching the kubelet (by RBAC or an admission
	// webhook): no runtime event comes of it.
	if x.Code >= 400 {
		return false
	}
	if r.Orchestrator.Namespace != x.Namespace || r.Orchestrator.Resource.Name != x.Pod {
		return false
	}
	if x.Container != "" && r.Container.Name != x.Container {
		return false
	}
	interactive := r.Process.Interactive != nil && *r.Process.Interactive
	if interactive != x.TTY || !sameArgs(r.Process.Args, x.Command) {
		return false
	}
	start := x.Received
	if start.IsZero() {
		start = x.Started
	}
	if r.Timestamp.Before(start.Add(-skew)) {
		return false
	}
	return x.Completed.IsZero() || !r.Timestamp.After(x.Completed.Add(skew))
}

// redacted is how the runtime's events record a redacted part of an
// argument.
const redacted = "[REDACTED]"

// sameArgs compares the runtime's recorded arguments with the request's
// command; a recorded argument with redacted parts matches any text there.
func sameArgs(recorded, command []string) bool {
	if len(recorded) != len(command) {
		return false
	}
	for i := range recorded {
		if recorded[i] == command[i] {
			continue
		}
		if !strings.Contains(recorded[i], redacted) || !redactedMatch(recorded[i], command[i]) {
			return false
		}
	}
	return true
}

func redactedMatch(pattern, s string) bool {
	parts := strings.Split(pattern, redacted)
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

type auditDoc struct {
	Match      Match          `json:"match"`
	ID         string         `json:"id,omitempty"`
	Candidates []candidateDoc `json:"candidates,omitempty"`
	Window     *windowDoc     `json:"window,omitempty"`
}

type candidateDoc struct {
	ID     string   `json:"id"`
	User   string   `json:"user"`
	Groups []string `json:"groups,omitempty"`
}

type windowDoc struct {
	Received  string `json:"received,omitempty"`
	Started   string `json:"started,omitempty"`
	Completed string `json:"completed,omitempty"`
}

// enrich adds the join's fields to one event line. Members are re-encoded
// in key order; their values are kept as they were.
func enrich(line []byte, m Match, x *Exec, cands []*Exec) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(line, &doc); err != nil {
		return nil, fmt.Errorf("event line: %w", err)
	}
	eg := map[string]json.RawMessage{}
	if raw, ok := doc["execguard"]; ok {
		if err := json.Unmarshal(raw, &eg); err != nil {
			return nil, fmt.Errorf("event line: execguard: %w", err)
		}
	}
	a := auditDoc{Match: m}
	switch m {
	case Unique:
		a.ID = x.AuditID
		a.Window = &windowDoc{Received: ts(x.Received), Started: ts(x.Started), Completed: ts(x.Completed)}
		groups := x.Groups
		if groups == nil {
			groups = []string{}
		}
		set(doc, "user", map[string]any{"name": x.User, "group": map[string]any{"name": groups}})
		if len(x.SourceIPs) > 0 {
			set(doc, "source", map[string]any{"ip": x.SourceIPs[0]})
		}
		if x.UserAgent != "" {
			set(doc, "user_agent", map[string]any{"original": x.UserAgent})
		}
	case Ambiguous:
		sorted := append([]*Exec(nil), cands...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].AuditID < sorted[j].AuditID })
		for _, c := range sorted {
			a.Candidates = append(a.Candidates, candidateDoc{ID: c.AuditID, User: c.User, Groups: c.Groups})
		}
	}
	set(eg, "audit", a)
	set(doc, "execguard", eg)
	return json.Marshal(doc)
}

func set[M ~map[string]json.RawMessage](m M, key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value here is made of strings, lists and maps of them.
		panic("audit: encode " + key + ": " + err.Error())
	}
	m[key] = b
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
