// Package audit joins the Kubernetes API server's audit events to
// execguard's runtime events, so that each exec recorded on a node names
// the Kubernetes user who asked for it. An exec's audit event (verb get or
// create, objectRef pods/<name> subresource exec, code 101) carries the user
// and, in its requestURI's query, the command, container and tty; it is
// written at ResponseStarted and again at ResponseComplete with one audit
// ID. The runtime's exec event falls between the two. A runtime event is
// attributed to an audit event only when the match is unique both ways;
// otherwise it is marked ambiguous, never guessed. docs/audit.md.
package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

// Event is the part of an audit.k8s.io/v1 Event the join reads.
type Event struct {
	AuditID    string `json:"auditID"`
	Stage      string `json:"stage"`
	RequestURI string `json:"requestURI"`
	Verb       string `json:"verb"`
	User       struct {
		Username string   `json:"username"`
		UID      string   `json:"uid"`
		Groups   []string `json:"groups"`
	} `json:"user"`
	ImpersonatedUser *struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"impersonatedUser"`
	SourceIPs []string `json:"sourceIPs"`
	UserAgent string   `json:"userAgent"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestReceived time.Time `json:"requestReceivedTimestamp"`
	StageTimestamp  time.Time `json:"stageTimestamp"`
	// RequestObject is there at the Request and RequestResponse levels: for
	// an ephemeral containers update, the pod or the patch naming them.
	RequestObject json.RawMessage `json:"requestObject"`
}

// Exec is one exec request to the API server, from its audit events.
type Exec struct {
	AuditID   string
	User      string
	Groups    []string
	SourceIPs []string
	UserAgent string
	Namespace string
	Pod       string
	Container string
	Command   []string
	TTY       bool
	Stdin     bool
	// Received, Started and Completed are the request's reception and the
	// stage timestamps of ResponseStarted and ResponseComplete; Completed is
	// zero while the session is open (no ResponseComplete yet).
	Received, Started, Completed time.Time
	// Code is the response code: 101 for an exec that was upgraded (a
	// refusal by the runtime looks the same), 403 for one refused before.
	Code int
	// Names are, for an ephemeral containers update, the ephemeral
	// containers the request body lists (a patch lists the new ones; an
	// update all of them).
	Names []string
}

// Collector gathers exec requests from audit events, by audit ID.
type Collector struct {
	execs  map[string]*Exec
	order  []string
	debug  map[string]*Exec // ephemeral container requests, by audit ID
	dorder []string
}

// NewCollector returns an empty collector.
func NewCollector() *Collector {
	return &Collector{execs: map[string]*Exec{}, debug: map[string]*Exec{}}
}

// Add takes one audit event; events of other requests are ignored.
func (c *Collector) Add(e Event) error {
	ref := e.ObjectRef
	if ref == nil || ref.Resource != "pods" {
		return nil
	}
	if ref.Subresource == "ephemeralcontainers" {
		return c.addDebug(e)
	}
	if ref.Subresource != "exec" {
		return nil
	}
	x := c.execs[e.AuditID]
	if x == nil {
		u, err := url.Parse(e.RequestURI)
		if err != nil {
			return fmt.Errorf("audit event %s: requestURI %q: %w", e.AuditID, e.RequestURI, err)
		}
		q := u.Query()
		x = newExec(e)
		x.Container, x.Command = q.Get("container"), q["command"]
		x.TTY, x.Stdin = flag(q.Get("tty")), flag(q.Get("stdin"))
		c.execs[e.AuditID] = x
		c.order = append(c.order, e.AuditID)
	}
	x.note(e)
	return nil
}

// newExec is the request of audit event e: who asked, from where, for
// which pod, and when it was received.
func newExec(e Event) *Exec {
	x := &Exec{AuditID: e.AuditID, User: e.User.Username, Groups: e.User.Groups, SourceIPs: e.SourceIPs,
		UserAgent: e.UserAgent, Namespace: e.ObjectRef.Namespace, Pod: e.ObjectRef.Name, Received: e.RequestReceived}
	// The one the API server acted as is who ran it.
	if iu := e.ImpersonatedUser; iu != nil && iu.Username != "" {
		x.User, x.Groups = iu.Username, iu.Groups
	}
	return x
}

// note takes what audit event e of x's request adds: its status code and
// the time of its stage.
func (x *Exec) note(e Event) {
	if e.ResponseStatus != nil && e.ResponseStatus.Code != 0 {
		x.Code = e.ResponseStatus.Code
	}
	switch e.Stage {
	case "ResponseStarted":
		x.Started = e.StageTimestamp
	case "ResponseComplete", "Panic":
		x.Completed = e.StageTimestamp
	}
}

func flag(s string) bool {
	b, err := strconv.ParseBool(s)
	return err == nil && b
}

// addDebug records an update of a pod's ephemeral containers (kubectl
// debug): the containers it names, which need the request body (audit
// level Request or RequestResponse). Each is an Exec whose Container is
// the ephemeral container's name and whose Command is unknown.
func (c *Collector) addDebug(e Event) error {
	if e.Verb != "patch" && e.Verb != "update" {
		return nil
	}
	x := c.debug[e.AuditID]
	if x == nil {
		x = newExec(e)
		c.debug[e.AuditID] = x
		c.dorder = append(c.dorder, e.AuditID)
	}
	if len(e.RequestObject) > 0 && len(x.Names) == 0 {
		var obj struct {
			Spec struct {
				EphemeralContainers []struct {
					Name string `json:"name"`
				} `json:"ephemeralContainers"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(e.RequestObject, &obj); err != nil {
			return fmt.Errorf("audit event %s: requestObject: %w", e.AuditID, err)
		}
		for _, ec := range obj.Spec.EphemeralContainers {
			if ec.Name != "" {
				x.Names = append(x.Names, ec.Name)
			}
		}
	}
	x.note(e)
	return nil
}

// Debugs are the ephemeral container requests seen that name containers.
func (c *Collector) Debugs() []*Exec {
	var out []*Exec
	for _, id := range c.dorder {
		if x := c.debug[id]; len(x.Names) > 0 {
			out = append(out, x)
		}
	}
	return out
}

// Execs are the exec requests seen, in the order of their first event.
func (c *Collector) Execs() []*Exec {
	out := make([]*Exec, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, c.execs[id])
	}
	return out
}

// maxLine bounds one audit event line; an exec's is a few KiB.
const maxLine = 16 << 20

// ReadLog reads an audit log file's lines (--audit-log-format json, one
// Event a line) into c. Lines that are not JSON events are reported with
// their number; the others are still read.
func (c *Collector) ReadLog(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var bad []string
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(line, &e); err != nil {
			bad = append(bad, fmt.Sprintf("line %d: %v", n, err))
			continue
		}
		if err := c.Add(e); err != nil {
			bad = append(bad, fmt.Sprintf("line %d: %v", n, err))
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	if len(bad) > 0 {
		return fmt.Errorf("audit log: %d unreadable lines, the first %s", len(bad), bad[0])
	}
	return nil
}

// EventList is what the API server's audit webhook backend posts.
type EventList struct {
	Kind  string            `json:"kind"`
	Items []json.RawMessage `json:"items"`
}
