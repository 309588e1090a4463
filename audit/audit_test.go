package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/internal/ecsfields"
)

// The ResponseComplete event of a kubectl exec -it as kube-apiserver v1.34.4
// writes it (at RequestResponse level).
const measuredAudit = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"2b5a980a-9d39-499d-b5f3-cb7676584d8d","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/demo/pods/web/exec?command=sh\u0026container=app\u0026stdin=true\u0026stdout=true\u0026tty=true","verb":"get","user":{"username":"egk-admin","groups":["system:masters","system:authenticated"],"extra":{"authentication.kubernetes.io/credential-id":["X509SHA256=08e4a75ce540c75bfed2c7a864b9d2c08a50c6aff0952071722652a913887fcf"]}},"sourceIPs":["127.0.0.1"],"userAgent":"kubectl/v1.34.4 (linux/amd64) kubernetes/$Format","objectRef":{"resource":"pods","namespace":"demo","name":"web","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2026-12-02T16:09:22.937306Z","stageTimestamp":"2026-12-02T16:09:25.884222Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}`

func TestCollectorMeasured(t *testing.T) {
	c := NewCollector()
	if err := c.ReadLog(strings.NewReader(measuredAudit + "\n")); err != nil {
		t.Fatal(err)
	}
	xs := c.Execs()
	if len(xs) != 1 {
		t.Fatalf("%d execs", len(xs))
	}
	x := xs[0]
	if x.User != "egk-admin" || x.Namespace != "demo" || x.Pod != "web" || x.Container != "app" ||
		strings.Join(x.Command, " ") != "sh" || !x.TTY || !x.Stdin || x.Code != 101 || x.Completed.IsZero() || !x.Started.IsZero() {
		t.Errorf("exec %+v", x)
	}
}

var t0 = time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC)

// req is an exec request: audit events at ResponseStarted and (unless
// open) ResponseComplete.
type req struct {
	id, user, container string
	cmd                 []string
	tty                 bool
	from, to            float64 // seconds after t0; to < 0: still open
	code                int
}

func (r req) events() []string {
	q := url.Values{"container": {r.container}, "stdout": {"true"}}
	for _, c := range r.cmd {
		q.Add("command", c)
	}
	if r.tty {
		q.Set("tty", "true")
		q.Set("stdin", "true")
	}
	code := r.code
	if code == 0 {
		code = 101
	}
	at := func(s float64) string {
		return t0.Add(time.Duration(s * float64(time.Second))).Format(time.RFC3339Nano)
	}
	ev := func(stage string, s float64) string {
		b, _ := json.Marshal(map[string]any{
			"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": r.id, "stage": stage, "verb": "get",
			"requestURI": "/api/v1/namespaces/demo/pods/web/exec?" + q.Encode(),
			"user":       map[string]any{"username": r.user, "groups": []string{"g-" + r.user, "system:authenticated"}},
			"sourceIPs":  []string{"10.1.2.3"}, "userAgent": "kubectl/v1.34.4",
			"objectRef":                map[string]any{"resource": "pods", "namespace": "demo", "name": "web", "subresource": "exec"},
			"responseStatus":           map[string]any{"code": code},
			"requestReceivedTimestamp": at(r.from - 0.03), "stageTimestamp": at(s),
		})
		return string(b)
	}
	out := []string{ev("ResponseStarted", r.from)}
	if r.to >= 0 {
		out = append(out, ev("ResponseComplete", r.to))
	}
	return out
}

// rt is a runtime exec event at a time, with its alert when interactive.
type rt struct {
	entity, container string
	args              []string
	tty               bool
	at                float64
	pod               string
}

func (r rt) lines() []string {
	pod := r.pod
	if pod == "" {
		pod = "web"
	}
	doc := func(kind string) string {
		b, _ := json.Marshal(map[string]any{
			"@timestamp": t0.Add(time.Duration(r.at * float64(time.Second))).Format(time.RFC3339Nano),
			"event":      map[string]any{"kind": kind, "action": "exec", "type": []string{"start"}},
			"process":    map[string]any{"entity_id": r.entity, "args": r.args, "interactive": r.tty},
			"container":  map[string]any{"id": "c1", "name": r.container},
			"orchestrator": map[string]any{"type": "kubernetes", "namespace": "demo",
				"resource": map[string]any{"name": pod, "type": "pod"}},
			"agent":     map[string]any{"name": "execguard-shim"},
			"execguard": map[string]any{"action": "alert"},
		})
		return string(b)
	}
	out := []string{doc("event")}
	if r.tty {
		out = append(out, doc("alert"))
	}
	return out
}

type joined struct {
	User struct {
		Name  string `json:"name"`
		Group struct {
			Name []string `json:"name"`
		} `json:"group"`
	} `json:"user"`
	Event struct {
		Kind string `json:"kind"`
	} `json:"event"`
	Process struct {
		EntityID string `json:"entity_id"`
	} `json:"process"`
	Source struct {
		IP string `json:"ip"`
	} `json:"source"`
	Execguard struct {
		Action string `json:"action"`
		Audit  *struct {
			Match      Match  `json:"match"`
			ID         string `json:"id"`
			Candidates []struct {
				ID   string `json:"id"`
				User string `json:"user"`
			} `json:"candidates"`
		} `json:"audit"`
	} `json:"execguard"`
}

func TestJoin(t *testing.T) {
	sh := []string{"sh"}
	tests := []struct {
		name string
		reqs []req
		rts  []rt
		// want per runtime entity: "user" for a unique match, "?a,b" for
		// ambiguous between audit ids a and b, "-" for none.
		want map[string]string
	}{
		{name: "one exec",
			reqs: []req{{id: "a1", user: "alice", container: "app", cmd: sh, tty: true, from: 1, to: 5}},
			rts:  []rt{{entity: "e1", container: "app", args: sh, tty: true, at: 1.02}},
			want: map[string]string{"e1": "alice"}},
		{name: "sequential execs of one command by two users",
			reqs: []req{{id: "a1", user: "alice", container: "app", cmd: sh, tty: true, from: 1, to: 5},
				{id: "b1", user: "bob", container: "app", cmd: sh, tty: true, from: 10, to: 12}},
			rts:  []rt{{entity: "e1", container: "app", args: sh, tty: true, at: 1.02}, {entity: "e2", container: "app", args: sh, tty: true, at: 10.01}},
			want: map[string]string{"e1": "alice", "e2": "bob"}},
		{name: "concurrent execs of one command by two users: ambiguous, never guessed",
			reqs: []req{{id: "a1", user: "alice", container: "app", cmd: sh, tty: true, from: 1, to: 9},
				{id: "b1", user: "bob", container: "app", cmd: sh, tty: true, from: 3, to: 8}},
			rts:  []rt{{entity: "e1", container: "app", args: sh, tty: true, at: 1.02}, {entity: "e2", container: "app", args: sh, tty: true, at: 3.01}},
			want: map[string]string{"e1": "?a1", "e2": "?a1,b1"}},
		{name: "concurrent execs told apart by command",
			reqs: []req{{id: "a1", user: "alice", container: "app", cmd: sh, tty: true, from: 1, to: 9},
				{id: "b1", user: "bob", container: "app", cmd: []string{"id"}, from: 3, to: 3.1}},
			rts:  []rt{{entity: "e1", container: "app", args: sh, tty: true, at: 1.02}, {entity: "e2", container: "app", args: []string{"id"}, at: 3.01}},
			want: map[string]string{"e1": "alice", "e2": "bob"}},
		{name: "concurrent execs told apart by terminal and container",
			reqs: []req{{id: "a1", user: "alice", container: "app", cmd: sh, tty: true, from: 1, to: 9},
				{id: "b1", user: "bob", container: "app", cmd: sh, from: 3, to: 4},
				{id: "c1", user: "carol", container: "side", cmd: sh, tty: true, from: 3, to: 4}},
			rts: []rt{{entity: "e1", container: "app", args: sh, tty: true, at: 1.02}, {entity: "e2", container: "app", args: sh, at: 3.01},
				{entity: "e3", container: "side", args: sh, tty: true, at: 3.02}},
			want: map[string]string{"e1": "alice", "e2": "bob", "e3": "carol"}},
		{name: "a bypass during a session with the same command: both ambiguous",
			reqs: []req{{id: "a1", user: "alice", container: "app", cmd: sh, tty: true, from: 1, to: 9}},
			rts:  []rt{{entity: "e1", container: "app", args: sh, tty: true, at: 1.02}, {entity: "e2", container: "app", args: sh, tty: true, at: 5}},
			want: map[string]string{"e1": "?a1", "e2": "?a1"}},
		{name: "a bypass outside any request",
			reqs: []req{{id: "a1", user: "alice", container: "app", cmd: sh, tty: true, from: 1, to: 2}},
			rts:  []rt{{entity: "e1", container: "app", args: sh, tty: true, at: 1.02}, {entity: "e2", container: "app", args: sh, tty: true, at: 5}},
			want: map[string]string{"e1": "alice", "e2": "-"}},
		{name: "a request refused before the node does not match",
			reqs: []req{{id: "a1", user: "alice", container: "app", cmd: sh, tty: true, from: 1, to: 1.01, code: 403},
				{id: "b1", user: "bob", container: "app", cmd: sh, tty: true, from: 1.2, to: 4}},
			rts:  []rt{{entity: "e1", container: "app", args: sh, tty: true, at: 1.25}},
			want: map[string]string{"e1": "bob"}},
		{name: "an open session matches",
			reqs: []req{{id: "a1", user: "alice", container: "app", cmd: sh, tty: true, from: 1, to: -1}},
			rts:  []rt{{entity: "e1", container: "app", args: sh, tty: true, at: 1.5}},
			want: map[string]string{"e1": "alice"}},
		{name: "redacted arguments match",
			reqs: []req{{id: "a1", user: "alice", container: "app", cmd: []string{"app", "--password", "hunter2"}, from: 1, to: 1.2}},
			rts:  []rt{{entity: "e1", container: "app", args: []string{"app", "--password", "[REDACTED]"}, at: 1.05}},
			want: map[string]string{"e1": "alice"}},
		{name: "another pod does not match",
			reqs: []req{{id: "a1", user: "alice", container: "app", cmd: sh, tty: true, from: 1, to: 5}},
			rts:  []rt{{entity: "e1", container: "app", args: sh, tty: true, at: 1.02, pod: "db"}},
			want: map[string]string{"e1": "-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCollector()
			var log []string
			for _, r := range tt.reqs {
				log = append(log, r.events()...)
			}
			if err := c.ReadLog(strings.NewReader(strings.Join(log, "\n"))); err != nil {
				t.Fatal(err)
			}
			var in []string
			in = append(in, `{"@timestamp":"2026-12-02T16:00:00Z","event":{"kind":"event","action":"container-start"}}`)
			for _, r := range tt.rts {
				in = append(in, r.lines()...)
			}
			var out bytes.Buffer
			res, err := Join(strings.NewReader(strings.Join(in, "\n")+"\n"), &out, c.Requests(), Options{Skew: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != len(in) || lines[0] != in[0] {
				t.Fatalf("%d lines out of %d, the first %q", len(lines), len(in), lines[0])
			}
			table, err := ecsfields.Load()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, l := range lines[1:] {
				var j joined
				if err := json.Unmarshal([]byte(l), &j); err != nil {
					t.Fatal(err)
				}
				// What the join adds is mapped as ECS maps it.
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatal(err)
				}
				for _, p := range table.Check(m, "execguard.") {
					t.Errorf("joined document: %s", p)
				}
				if j.Execguard.Action != "alert" || j.Execguard.Audit == nil {
					t.Fatalf("line lost its fields or has no join: %s", l)
				}
				var v string
				switch a := j.Execguard.Audit; a.Match {
				case Unique:
					v = j.User.Name
					if want := "g-" + v; len(j.User.Group.Name) != 2 || j.User.Group.Name[0] != want || a.ID == "" || j.Source.IP != "10.1.2.3" {
						t.Errorf("%s: user %+v audit %+v source %q", j.Process.EntityID, j.User, a, j.Source.IP)
					}
				case Ambiguous:
					var ids []string
					for _, c := range a.Candidates {
						ids = append(ids, c.ID)
					}
					v = "?" + strings.Join(ids, ",")
					if j.User.Name != "" {
						t.Errorf("%s: an ambiguous match names user %q", j.Process.EntityID, j.User.Name)
					}
				case None:
					v = "-"
				}
				if prev, ok := got[j.Process.EntityID]; ok && prev != v {
					t.Errorf("%s: its event and alert differ: %s, %s", j.Process.EntityID, prev, v)
				}
				got[j.Process.EntityID] = v
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("joined %v, want %v", got, tt.want)
			}
			if res.Unique+res.Ambiguous+res.None != len(tt.rts) {
				t.Errorf("result %+v for %d execs", res, len(tt.rts))
			}
		})
	}
}

func TestLines(t *testing.T) {
	buf, n, err := Lines([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + measuredAudit + `, {"auditID": "x"}]}`))
	if err != nil || n != 2 || bytes.Count(buf, []byte("\n")) != 2 {
		t.Fatalf("%d events, %v:\n%s", n, err, buf)
	}
	c := NewCollector()
	if err := c.ReadLog(bytes.NewReader(buf)); err != nil || len(c.Execs()) != 1 {
		t.Errorf("the lines do not read back: %v, %d execs", err, len(c.Execs()))
	}
	for _, bad := range []string{`{`, `{"kind":"Pod","items":[]}`} {
		if _, _, err := Lines([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// kubectl debug: the ephemeral containers update names the container, and
// its start on the node is attributed to the update's user.
func TestJoinDebug(t *testing.T) {
	patch := func(id, user, name string, at float64, code int) []string {
		var out []string
		for _, stage := range []string{"ResponseStarted", "ResponseComplete"} {
			b, _ := json.Marshal(map[string]any{
				"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": id, "stage": stage, "verb": "patch",
				"requestURI":     "/api/v1/namespaces/demo/pods/web/ephemeralcontainers",
				"user":           map[string]any{"username": user, "groups": []string{"g-" + user}},
				"objectRef":      map[string]any{"resource": "pods", "namespace": "demo", "name": "web", "subresource": "ephemeralcontainers"},
				"responseStatus": map[string]any{"code": code},
				"requestObject": map[string]any{"spec": map[string]any{"ephemeralContainers": []any{
					map[string]any{"name": name, "image": "busybox", "command": []string{"sh"}, "tty": true, "stdin": true}}}},
				"requestReceivedTimestamp": t0.Add(time.Duration(at * float64(time.Second))).Format(time.RFC3339Nano),
				"stageTimestamp":           t0.Add(time.Duration((at + 0.05) * float64(time.Second))).Format(time.RFC3339Nano),
			})
			out = append(out, string(b))
		}
		return out
	}
	// A container's first process as the runtime records it (an exec
	// entry leader, execguard.operation container-start), and as older
	// documents did (event.action container-start): never an exec's.
	for _, shape := range []string{"current", "older"} {
		t.Run(shape, func(t *testing.T) { joinDebug(t, patch, shape == "older") })
	}
}

func joinDebug(t *testing.T, patch func(id, user, name string, at float64, code int) []string, older bool) {
	start := func(entity, name string, at float64) string {
		doc := map[string]any{
			"@timestamp":   t0.Add(time.Duration(at * float64(time.Second))).Format(time.RFC3339Nano),
			"event":        map[string]any{"kind": "event", "action": "exec"},
			"execguard":    map[string]any{"operation": "container-start"},
			"process":      map[string]any{"entity_id": entity, "args": []string{"sh"}, "interactive": true},
			"container":    map[string]any{"name": name},
			"orchestrator": map[string]any{"namespace": "demo", "resource": map[string]any{"name": "web"}},
		}
		if older {
			doc["event"] = map[string]any{"kind": "event", "action": "container-start"}
			delete(doc, "execguard")
		}
		b, _ := json.Marshal(doc)
		return string(b)
	}
	var log []string
	log = append(log, patch("p1", "bob", "debugger-x", 1, 200)...)
	log = append(log, patch("p2", "alice", "debugger-y", 5, 403)...)
	c := NewCollector()
	if err := c.ReadLog(strings.NewReader(strings.Join(log, "\n"))); err != nil {
		t.Fatal(err)
	}
	// The end of debugger-x's first process names its operation too: it is
	// no start.
	end := strings.Replace(strings.Replace(start("e1", "debugger-x", 4), `"action":"exec"`, `"action":"end"`, 1), `"action":"container-start"`, `"action":"end"`, 1)
	in := []string{start("own", "app", 0.5), start("e1", "debugger-x", 3), end, start("e2", "debugger-y", 6), start("late", "debugger-x", 1000)}
	var out bytes.Buffer
	res, err := Join(strings.NewReader(strings.Join(in, "\n")), &out, c.Requests(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var j joined
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatal(err)
		}
		switch a := j.Execguard.Audit; {
		case a == nil:
			got[j.Process.EntityID] = "unmarked"
		case a.Match == Unique:
			got[j.Process.EntityID] = j.User.Name
		default:
			got[j.Process.EntityID] = string(a.Match)
		}
	}
	want := map[string]string{"own": "unmarked", "e1": "bob", "e2": "unmarked", "late": "unmarked"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("joined %v, want %v", got, want)
	}
	if res.Starts.Unique != 1 || res.Starts.Ambiguous != 0 || res.Unique+res.Ambiguous+res.None != 0 {
		t.Errorf("result %+v", res)
	}
}
