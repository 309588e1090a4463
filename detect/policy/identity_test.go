package policy

import (
	"strings"
	"testing"
	"time"
)

// sreExempt is "block interactive execs except for group sre", one rule.
const sreExempt = `process:
  selectors:
    - name: interactive
      operation: [exec]
      sessionLeaderInteractive: true
    - name: sre
      kubernetesGroup: [sre]
    - name: robots
      kubernetesUser: ["system:serviceaccount:ci:*"]
    - name: rootUser
      processUserId: [0]
  responses:
    - match: [interactive]
      exclude: [sre]
      actions: [alert, block]
    - match: [robots]
      actions: [alert]
    - match: [rootUser]
      actions: [log]
`

func TestIdentityConditions(t *testing.T) {
	p := mustParse(t, sreExempt)
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		req   *Request // nil: a runtime call, with no identity
		f     []opt
		block bool
		alert bool
		sels  []string
	}{
		{name: "runtime: nobody is sre, interactive exec blocked", f: []opt{tty}, block: true, alert: true, sels: []string{"interactive", "rootUser"}},
		{name: "runtime: plain exec", sels: []string{"rootUser"}},
		{name: "API: dev group, interactive exec blocked", f: []opt{tty},
			req: &Request{Identity: Identity{User: "alice", Groups: []string{"dev", "system:authenticated"}}}, block: true, alert: true, sels: []string{"interactive"}},
		{name: "API: sre group exempt", f: []opt{tty},
			req: &Request{Identity: Identity{User: "bob", Groups: []string{"system:authenticated", "sre"}}}, sels: []string{"interactive", "sre"}},
		{name: "API: group pattern is not a prefix of another group", f: []opt{tty},
			req: &Request{Identity: Identity{User: "eve", Groups: []string{"sre-contractors"}}}, block: true, alert: true, sels: []string{"interactive"}},
		{name: "API: user pattern", req: &Request{Identity: Identity{User: "system:serviceaccount:ci:deployer"}}, alert: true, sels: []string{"robots"}},
		{name: "API: uid known", req: &Request{Identity: Identity{User: "alice"}, UIDKnown: true}, sels: []string{"rootUser"}},
		{name: "API: empty user matches no pattern", f: []opt{tty}, req: &Request{}, block: true, alert: true, sels: []string{"interactive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := facts(tt.f...)
			var r Result
			if tt.req == nil {
				r = p.Evaluate(f, now)
			} else {
				req := *tt.req
				req.Facts = f
				r = p.EvaluateRequest(req, now)
			}
			if r.Block != tt.block || r.Alert != tt.alert {
				t.Errorf("block %v alert %v, want %v %v", r.Block, r.Alert, tt.block, tt.alert)
			}
			if strings.Join(r.Selectors, ",") != strings.Join(tt.sels, ",") {
				t.Errorf("selectors %v, want %v", r.Selectors, tt.sels)
			}
		})
	}
}

// policy check explains what identity conditions do at the runtime.
func TestIdentityNotes(t *testing.T) {
	p := mustParse(t, sreExempt)
	var exclude, match bool
	for _, n := range p.Notes() {
		switch {
		case n.Key == "process.responses[0].exclude" && strings.Contains(n.Msg, `"sre" exempts by kubernetesGroup, which only the admission webhook knows`) && strings.Contains(n.Msg, "blocks everyone's calls"):
			exclude = true
		case n.Key == "process.responses[1].match" && strings.Contains(n.Msg, `"robots" conditions on kubernetesUser`) && strings.Contains(n.Msg, "at the API only"):
			match = true
		}
	}
	if !exclude || !match {
		t.Errorf("notes %v: want the exclude note %v and the match note %v", p.Notes(), exclude, match)
	}
}

func TestIdentityPatterns(t *testing.T) {
	for _, tt := range []struct {
		src, want string
	}{
		{`kubernetesGroup: ["sre*x"]`, "kubernetesGroup"},
		{`kubernetesUser: sre`, "want a list"},
	} {
		src := "process:\n  selectors:\n    - name: a\n      " + tt.src + "\n  responses:\n    - match: [a]\n      actions: [log]\n"
		_, err := parseYAML("t.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one about %q", tt.src, err, tt.want)
		}
	}
}
