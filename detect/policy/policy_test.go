package policy

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/detect"
)

// fact builds the facts of an exec; options change it.
type opt func(*detect.Facts)

func facts(opts ...opt) detect.Facts {
	f := detect.Facts{
		Operation: detect.OpExec,
		Process:   detect.Process{Args: []string{"sh"}, Known: true},
		Container: detect.Container{
			ID: "0123456789abcdef", Name: "app", Image: "docker.io/library/busybox:1.36",
			PodName: "web-1", PodNamespace: "shop", PodLabels: map[string]string{"app": "web"},
		},
		Cluster: detect.Cluster{ID: "c-123", Name: "prod-eu"},
	}
	for _, o := range opts {
		o(&f)
	}
	return f
}

func tty(f *detect.Facts)   { f.Process.Terminal = true }
func piped(f *detect.Facts) { f.Stdin, f.StdinSource = detect.StdinAttached, "pipe" }
func null(f *detect.Facts)  { f.Stdin, f.StdinSource = detect.StdinNone, "null" }
func start(f *detect.Facts) { f.Operation = detect.OpContainerStart }
func unknownSpec(f *detect.Facts) {
	f.Process = detect.Process{}
}
func ns(n string) opt           { return func(f *detect.Facts) { f.Container.PodNamespace = n } }
func pod(n string) opt          { return func(f *detect.Facts) { f.Container.PodName = n } }
func ctr(n string) opt          { return func(f *detect.Facts) { f.Container.Name = n } }
func img(n string) opt          { return func(f *detect.Facts) { f.Container.Image = n } }
func uid(u uint32) opt          { return func(f *detect.Facts) { f.Process.UID = u } }
func args(a ...string) opt      { return func(f *detect.Facts) { f.Process.Args = a } }
func op(o detect.Operation) opt { return func(f *detect.Facts) { f.Operation = o } }
func labels(kv ...string) opt {
	return func(f *detect.Facts) {
		f.Container.PodLabels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Container.PodLabels[kv[i]] = kv[i+1]
		}
	}
}
func cluster(id, name string) opt {
	return func(f *detect.Facts) { f.Cluster = detect.Cluster{ID: id, Name: name} }
}

func mustParse(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := parseYAML("test.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse:\n%v\npolicy:\n%s", err, src)
	}
	return p
}

// selectorPolicy is a policy of one selector with the given conditions,
// alerting when it matches.
func selectorPolicy(conds string) string {
	var b strings.Builder
	b.WriteString("process:\n  selectors:\n    - name: s\n")
	for _, line := range strings.Split(strings.TrimSpace(conds), "\n") {
		b.WriteString("      " + line + "\n")
	}
	b.WriteString("  responses:\n    - match: [s]\n      actions: [alert]\n")
	return b.String()
}

var noon = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC) // a Saturday

// TestConditions checks each condition alone: which facts it matches.
func TestConditions(t *testing.T) {
	tests := []struct {
		name  string
		conds string
		facts detect.Facts
		want  bool
	}{
		{"operation exec on exec", "operation: [exec]", facts(), true},
		{"operation exec on container start", "operation: [exec]", facts(start), false},
		{"operation containerStart", "operation: [containerStart]", facts(start), true},
		{"operation container-start alias", "operation: [container-start]", facts(start), true},
		{"operation containerStart on exec", "operation: [containerStart]", facts(), false},
		{"operation fork never matches", "operation: [fork]", facts(), false},
		{"operation fork or exec", "operation: [fork, exec]", facts(), true},
		{"no operation condition: any", "kubernetesNamespace: [shop]", facts(start), true},
		{"other runtime calls are never subject", "kubernetesNamespace: [shop]", facts(op(detect.OpUnknown)), false},

		{"interactive true on tty", "sessionLeaderInteractive: true", facts(tty), true},
		{"interactive true without tty", "sessionLeaderInteractive: true", facts(), false},
		{"interactive false without tty", "sessionLeaderInteractive: false", facts(), true},
		{"interactive false on tty", "sessionLeaderInteractive: false", facts(tty), false},
		{"interactive true, spec unreadable", "sessionLeaderInteractive: true", facts(unknownSpec), false},
		{"interactive false, spec unreadable", "sessionLeaderInteractive: false", facts(unknownSpec), false},
		{"interactive container start", "sessionLeaderInteractive: true", facts(start, tty), true},

		{"stdin attached", "stdin: [attached]", facts(piped), true},
		{"stdin attached on none", "stdin: [attached]", facts(null), false},
		{"stdin none", "stdin: [none]", facts(null), true},
		{"stdin terminal on a tty exec", "stdin: [terminal]", facts(tty, null), true},
		{"stdin attached on a tty exec with a pipe", "stdin: [attached]", facts(tty, piped), false},
		{"stdin unknown", "stdin: [unknown]", facts(), true},
		{"stdin any of", "stdin: [attached, terminal]", facts(tty), true},
		{"stdinShell on exec -i sh", "stdinShell: true", facts(piped), true},
		{"stdinShell on exec -i tar", "stdinShell: true", facts(piped, args("tar", "xf", "-")), false},
		{"stdinShell on exec sh without stdin", "stdinShell: true", facts(null), false},
		{"stdinShell on exec -it sh", "stdinShell: true", facts(piped, tty), false},
		{"stdinShell on container start with stdin", "stdinShell: true", facts(start, piped), true},
		{"stdinShell false", "stdinShell: false", facts(null), true},
		{"stdinShell false, spec unreadable", "stdinShell: false", facts(unknownSpec), false},

		{"processName", "processName: [bash, sh]", facts(), true},
		{"processName of a path", "processName: [sh]", facts(args("/bin/sh", "-c", "x")), true},
		{"processName no", "processName: [bash]", facts(), false},
		{"processName trailing *", "processName: [pyth*]", facts(args("python3")), true},
		{"processName 15 bytes is comm", "processName: [kube-controller]", facts(args("/usr/local/bin/kube-controller-manager")), true},
		{"processName 14 bytes is exact", "processName: [kube-controlle]", facts(args("kube-controller-manager")), false},
		{"processName longer than comm", "processName: [kube-controller-manager]", facts(args("kube-controller-manager")), true},

		{"processExecutable exact", "processExecutable: [/bin/sh]", facts(args("/bin/sh")), true},
		{"processExecutable relative is as given", "processExecutable: [/bin/sh]", facts(args("sh")), false},
		{"processExecutable relative pattern", "processExecutable: [sh]", facts(args("sh")), true},
		{"processExecutable dir *", "processExecutable: [/usr/bin/*]", facts(args("/usr/bin/curl")), true},
		{"processExecutable dir * one level", "processExecutable: [/usr/bin/*]", facts(args("/usr/bin/x/curl")), false},
		{"processExecutable **", "processExecutable: [/opt/**]", facts(args("/opt/a/b/c")), true},

		{"processArgs exact", `processArgs: ["cat /var/log/app.log"]`, facts(args("cat", "/var/log/app.log")), true},
		{"processArgs * within an argument", `processArgs: ["cat /var/log/*"]`, facts(args("cat", "/var/log/a/b.log")), true},
		{"processArgs * is one argument", `processArgs: ["cat /var/log/*"]`, facts(args("cat", "/var/log/a", "/etc/shadow")), false},
		{"processArgs ** any arguments", `processArgs: ["/healthz.sh **"]`, facts(args("/healthz.sh", "-v", "--deep")), true},
		{"processArgs ** zero arguments", `processArgs: ["/healthz.sh **"]`, facts(args("/healthz.sh")), true},
		{"processArgs ** in the middle", `processArgs: ["** --debug **"]`, facts(args("app", "-x", "--debug", "y")), true},
		{"processArgs quoted argument", `processArgs: ["sh -c 'pg_isready *'"]`, facts(args("sh", "-c", "pg_isready -h localhost")), true},
		{"processArgs quoted mismatch", `processArgs: ["sh -c 'pg_isready *'"]`, facts(args("sh", "-c", "rm -rf /")), false},
		{"processArgs quoted ** is one argument", `processArgs: ["sh '**'"]`, facts(args("sh", "a", "b")), false},
		{"processArgs unknown spec", `processArgs: ["**"]`, facts(unknownSpec), false},

		{"processUserId", "processUserId: [0, 1000]", facts(uid(1000)), true},
		{"processUserId quoted", `processUserId: ["0"]`, facts(), true},
		{"processUserId no", "processUserId: [0]", facts(uid(1000)), false},
		{"processUserName root", "processUserName: [root]", facts(), true},
		{"processUserName root no", "processUserName: [root]", facts(uid(33)), false},
		{"processUserName numeric", `processUserName: ["33"]`, facts(uid(33)), true},
		{"processUserId unknown spec", "processUserId: [0]", facts(unknownSpec), false},

		{"kubernetesNamespace", "kubernetesNamespace: [shop]", facts(), true},
		{"kubernetesNamespace trailing *", "kubernetesNamespace: [ops-*]", facts(ns("ops-eu")), true},
		{"kubernetesNamespace no", "kubernetesNamespace: [ops-*]", facts(), false},
		{"kubernetesNamespace absent", "kubernetesNamespace: ['*']", facts(ns("")), false},
		{"kubernetesNamespace numeric", "kubernetesNamespace: [123]", facts(ns("123")), true},
		{"kubernetesPodName trailing *", "kubernetesPodName: [web-*]", facts(), true},
		{"kubernetesPodName no", "kubernetesPodName: [api-*]", facts(), false},
		{"containerName", "containerName: [app]", facts(), true},
		{"containerName no", "containerName: [sidecar-*]", facts(), false},
		{"containerName trailing *", "containerName: [side*]", facts(ctr("sidecar")), true},

		{"kubernetesPodLabel", `kubernetesPodLabel: ["app:web"]`, facts(), true},
		{"kubernetesPodLabel value *", `kubernetesPodLabel: ["app:we*"]`, facts(), true},
		{"kubernetesPodLabel any value", `kubernetesPodLabel: ["app:*"]`, facts(labels("app", "")), true},
		{"kubernetesPodLabel empty value", `kubernetesPodLabel: ["app:"]`, facts(labels("app", "")), true},
		{"kubernetesPodLabel empty value no", `kubernetesPodLabel: ["app:"]`, facts(), false},
		{"kubernetesPodLabel missing key", `kubernetesPodLabel: ["tier:*"]`, facts(), false},
		{"kubernetesPodLabel prefixed key", `kubernetesPodLabel: ["example.com/team:ops"]`, facts(labels("example.com/team", "ops")), true},
		{"kubernetesPodLabel no labels known", `kubernetesPodLabel: ["app:*"]`, facts(labels()), false},
		{"kubernetesPodLabel values ORed", `kubernetesPodLabel: ["tier:db", "app:web"]`, facts(), true},

		{"containerImageName", "containerImageName: [busybox]", facts(), true},
		{"containerImageName short ref", "containerImageName: [nginx]", facts(img("nginx")), true},
		{"containerImageName other registry", "containerImageName: [app]", facts(img("ghcr.io/acme/team/app:v2")), true},
		{"containerImageName no", "containerImageName: [nginx]", facts(), false},
		{"containerImageFullName docker hub short form", "containerImageFullName: [docker.io/busybox]", facts(), true},
		{"containerImageFullName long form", "containerImageFullName: [docker.io/library/busybox]", facts(img("busybox")), true},
		{"containerImageFullName registry port", "containerImageFullName: [registry.local:5000/team/app]", facts(img("registry.local:5000/team/app:1")), true},
		{"containerImageFullName prefix", "containerImageFullName: [ghcr.io/acme/*]", facts(img("ghcr.io/acme/app@sha256:abcd")), true},
		{"containerImageFullName no", "containerImageFullName: [ghcr.io/acme/*]", facts(), false},
		{"containerImageTag", "containerImageTag: [1.36]", facts(), true},
		{"containerImageTag numeric-looking", "containerImageTag: [1.*]", facts(), true},
		{"containerImageTag latest implied", "containerImageTag: [latest]", facts(img("nginx")), true},
		{"containerImageTag digest only", "containerImageTag: ['*']", facts(img("nginx@sha256:abcd")), false},

		{"kubernetesClusterName", "kubernetesClusterName: [prod-*]", facts(), true},
		{"kubernetesClusterId", "kubernetesClusterId: [c-123]", facts(), true},
		{"kubernetesClusterId unset", "kubernetesClusterId: [c-123]", facts(cluster("", "")), false},

		{"maintenanceWindow inside", `maintenanceWindow: {days: [sat, sun], hours: "11:00-13:00"}`, facts(), true},
		{"maintenanceWindow wrong day", `maintenanceWindow: {days: [mon], hours: "11:00-13:00"}`, facts(), false},
		{"maintenanceWindow wrong hour", `maintenanceWindow: {days: [sat], hours: "13:00-14:00"}`, facts(), false},
		{"maintenanceWindow end exclusive", `maintenanceWindow: {hours: "10:00-12:00"}`, facts(), false},
		{"maintenanceWindow days only", `maintenanceWindow: {days: [saturday]}`, facts(), true},
		{"maintenanceWindow time zone", `maintenanceWindow: {hours: "13:00-14:00", timezone: Europe/Berlin}`, facts(), true},
		{"maintenanceWindow list ORed", "maintenanceWindow:\n  - {days: [mon]}\n  - {days: [sat]}", facts(), true},

		{"conditions ANDed: all hold", "kubernetesNamespace: [shop]\nprocessName: [sh]\nsessionLeaderInteractive: true", facts(tty), true},
		{"conditions ANDed: one fails", "kubernetesNamespace: [shop]\nprocessName: [bash]\nsessionLeaderInteractive: true", facts(tty), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, selectorPolicy(tt.conds))
			r := p.Evaluate(tt.facts, noon)
			if got := len(r.Selectors) == 1; got != tt.want {
				t.Errorf("%s: matched = %v, want %v (result %+v)", tt.conds, got, tt.want, r)
			}
			if r.Alert != tt.want {
				t.Errorf("alert = %v, want %v", r.Alert, tt.want)
			}
		})
	}
}

func TestMaintenanceWindowAcrossMidnight(t *testing.T) {
	p := mustParse(t, selectorPolicy(`maintenanceWindow: {days: [fri], hours: "22:00-02:00", timezone: America/New_York}`))
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2026, 3, 13, 21, 59, 0, 0, ny), false},     // Friday before
		{time.Date(2026, 3, 13, 22, 0, 0, 0, ny), true},       // Friday start
		{time.Date(2026, 3, 14, 1, 59, 0, 0, ny), true},       // Saturday, still Friday's window
		{time.Date(2026, 3, 14, 2, 0, 0, 0, ny), false},       // end is exclusive
		{time.Date(2026, 3, 14, 23, 0, 0, 0, ny), false},      // Saturday night: not a Friday window
		{time.Date(2026, 3, 13, 1, 0, 0, 0, ny), false},       // Friday early: Thursday's window
		{time.Date(2026, 3, 14, 3, 30, 0, 0, time.UTC), true}, // 23:30 Friday in New York
	}
	for _, tt := range tests {
		if got := len(p.Evaluate(facts(), tt.at).Selectors) == 1; got != tt.want {
			t.Errorf("at %v: in window = %v, want %v", tt.at, got, tt.want)
		}
	}
}

// TestResponses checks how responses combine selectors and actions.
func TestResponses(t *testing.T) {
	const selectors = `process:
  selectors:
    - name: interactive
      operation: [exec]
      sessionLeaderInteractive: true
    - name: ops
      kubernetesNamespace: [ops-*]
    - name: debug
      kubernetesPodLabel: ["debug:true"]
    - name: all
      operation: [exec, containerStart]
    - name: shells
      processName: [sh, bash]
  responses:
`
	tests := []struct {
		name      string
		responses string
		facts     detect.Facts
		want      Result
	}{
		{
			name:      "match and no exclude",
			responses: "    - match: [interactive]\n      exclude: [ops]\n      actions: [alert, block]\n",
			facts:     facts(tty),
			want:      Result{Selectors: []string{"interactive", "all", "shells"}, Responses: []int{0}, Alert: true, Block: true, Cause: []string{"interactive"}},
		},
		{
			name:      "excluded",
			responses: "    - match: [interactive]\n      exclude: [ops]\n      actions: [alert, block]\n",
			facts:     facts(tty, ns("ops-eu")),
			want:      Result{Selectors: []string{"interactive", "ops", "all", "shells"}},
		},
		{
			name:      "excludes ORed",
			responses: "    - match: [interactive]\n      exclude: [ops, debug]\n      actions: [alert]\n",
			facts:     facts(tty, labels("debug", "true")),
			want:      Result{Selectors: []string{"interactive", "debug", "all", "shells"}},
		},
		{
			name:      "matches ORed",
			responses: "    - match: [ops, shells]\n      actions: [log]\n",
			facts:     facts(),
			want:      Result{Selectors: []string{"all", "shells"}, Responses: []int{0}, Log: true, Cause: []string{"shells"}},
		},
		{
			name:      "no match",
			responses: "    - match: [interactive]\n      actions: [alert]\n",
			facts:     facts(),
			want:      Result{Selectors: []string{"all", "shells"}},
		},
		{
			name: "actions of all applying responses add up, cause is the strongest",
			responses: "    - match: [all]\n      actions: [log]\n" +
				"    - match: [shells]\n      actions: [alert]\n" +
				"    - match: [interactive]\n      actions: [alert, block]\n" +
				"    - match: [ops]\n      actions: [alert, block]\n",
			facts: facts(tty),
			want:  Result{Selectors: []string{"interactive", "all", "shells"}, Responses: []int{0, 1, 2}, Log: true, Alert: true, Block: true, Cause: []string{"interactive"}},
		},
		{
			name:      "cause lists every matching selector of the response",
			responses: "    - match: [interactive, debug, shells]\n      actions: [alert]\n",
			facts:     facts(tty),
			want:      Result{Selectors: []string{"interactive", "all", "shells"}, Responses: []int{0}, Alert: true, Cause: []string{"interactive", "shells"}},
		},
		{
			name:      "excluded from one response, not from another",
			responses: "    - match: [shells]\n      exclude: [ops]\n      actions: [alert, block]\n    - match: [all]\n      actions: [log]\n",
			facts:     facts(ns("ops-1")),
			want:      Result{Selectors: []string{"ops", "all", "shells"}, Responses: []int{1}, Log: true, Cause: []string{"all"}},
		},
		{
			name:      "record alone is no cause",
			responses: "    - match: [interactive]\n      exclude: [ops]\n      actions: [record]\n",
			facts:     facts(tty),
			want:      Result{Selectors: []string{"interactive", "all", "shells"}, Responses: []int{0}, Record: true},
		},
		{
			name:      "record adds up with alert",
			responses: "    - match: [interactive]\n      actions: [alert]\n    - match: [shells]\n      exclude: [ops]\n      actions: [log, record]\n",
			facts:     facts(tty),
			want:      Result{Selectors: []string{"interactive", "all", "shells"}, Responses: []int{0, 1}, Log: true, Alert: true, Record: true, Cause: []string{"interactive"}},
		},
		{
			name:      "record excluded",
			responses: "    - match: [interactive]\n      exclude: [ops]\n      actions: [record]\n",
			facts:     facts(tty, ns("ops-1")),
			want:      Result{Selectors: []string{"interactive", "ops", "all", "shells"}},
		},
		{
			name:      "container start",
			responses: "    - match: [all]\n      exclude: [interactive]\n      actions: [log]\n",
			facts:     facts(start, tty),
			want:      Result{Selectors: []string{"all", "shells"}, Responses: []int{0}, Log: true, Cause: []string{"all"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, selectors+tt.responses)
			got := p.Evaluate(tt.facts, noon)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecision(t *testing.T) {
	p := mustParse(t, `process:
  selectors:
    - name: interactive
      sessionLeaderInteractive: true
    - name: nc
      processName: [nc]
    - name: all
      operation: [exec, containerStart]
  responses:
    - match: [all]
      actions: [log]
    - match: [interactive, nc]
      actions: [alert, block]
`)
	tests := []struct {
		name   string
		facts  detect.Facts
		action detect.Action
		alert  bool
		block  bool
		reason string
	}{
		{"interactive exec", facts(tty), detect.ActionBlock, true, true,
			`execguard: interactive exec into container "app" of pod shop/web-1 blocked by policy (selector interactive)`},
		{"plain exec", facts(), detect.ActionLog, false, false, ""},
		{"non-interactive exec blocked", facts(args("nc", "-l")), detect.ActionBlock, true, true,
			`execguard: exec into container "app" of pod shop/web-1 blocked by policy (selector nc)`},
		{"interactive container start", facts(start, tty, pod(""), ctr("")), detect.ActionBlock, true, true,
			`execguard: interactive container "0123456789ab" blocked by policy (selector interactive)`},
		{"two selectors", facts(tty, args("nc")), detect.ActionBlock, true, true,
			`execguard: interactive exec into container "app" of pod shop/web-1 blocked by policy (selectors interactive, nc)`},
		{"other call", facts(op(detect.OpUnknown)), ActionNone, false, false, ""},
	}
	shells := mustParse(t, `process:
  selectors:
    - name: shells
      stdinShell: true
  responses:
    - match: [shells]
      actions: [alert, block]
`)
	for _, tt := range []struct {
		name   string
		facts  detect.Facts
		reason string
	}{
		{"exec -i sh", facts(piped), `execguard: shell with attached stdin in container "app" of pod shop/web-1 blocked by policy (selector shells)`},
		{"container with stdin running sh", facts(start, piped), `execguard: shell with attached stdin in container "app" of pod shop/web-1 blocked by policy (selector shells)`},
	} {
		d := Decision(tt.facts, shells.Evaluate(tt.facts, noon), shells.Revision())
		if !d.Block || !d.StdinShell || d.Interactive || d.Reason != tt.reason {
			t.Errorf("%s: block %v stdin shell %v interactive %v reason %q, want a refusal %q", tt.name, d.Block, d.StdinShell, d.Interactive, d.Reason, tt.reason)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.Evaluate(tt.facts, noon)
			d := Decision(tt.facts, r, p.Revision())
			if d.Action != tt.action || d.Alert != tt.alert || d.Block != tt.block || d.Reason != tt.reason {
				t.Errorf("got action %q alert %v block %v reason %q\nwant action %q alert %v block %v reason %q",
					d.Action, d.Alert, d.Block, d.Reason, tt.action, tt.alert, tt.block, tt.reason)
			}
			if d.PolicyRevision != p.Revision() || !reflect.DeepEqual(d.Selectors, r.Selectors) {
				t.Errorf("revision %q selectors %v, want %q %v", d.PolicyRevision, d.Selectors, p.Revision(), r.Selectors)
			}
			if d.Interactive != detect.InteractiveEntryLeader(tt.facts) {
				t.Errorf("interactive = %v", d.Interactive)
			}
		})
	}
}

// TestRecordDecision checks which calls a record response records: terminal
// execs only, never a refused one.
func TestRecordDecision(t *testing.T) {
	p := mustParse(t, `process:
  selectors:
    - name: prod
      kubernetesNamespace: [shop]
    - name: nc
      processName: [nc]
  responses:
    - match: [prod]
      actions: [alert, record]
    - match: [nc]
      actions: [alert, block]
`)
	tests := []struct {
		name   string
		facts  detect.Facts
		record bool // Decision.Record
		tty    bool // RecordsTerminal
	}{
		{"terminal exec", facts(tty), true, true},
		{"exec without terminal", facts(), true, false},
		{"terminal exec in another namespace", facts(tty, ns("dev")), false, false},
		{"refused terminal exec", facts(tty, args("nc")), false, false},
		{"terminal container start", facts(start, tty), true, false},
		{"ExecSync with a terminal", facts(tty, func(f *detect.Facts) { f.ExecKind = detect.ExecSync }), true, false},
		{"unknown process spec", facts(unknownSpec), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decision(tt.facts, p.Evaluate(tt.facts, noon), p.Revision())
			if d.Record != tt.record || d.RecordsTerminal(tt.facts) != tt.tty {
				t.Errorf("Record %v RecordsTerminal %v, want %v %v", d.Record, d.RecordsTerminal(tt.facts), tt.record, tt.tty)
			}
		})
	}
	_, _, actions := p.Response(0)
	if !reflect.DeepEqual(actions, []string{"alert", "record"}) {
		t.Errorf("response 0 actions %v, want [alert record]", actions)
	}
}

func TestDefaultPolicy(t *testing.T) {
	p := Default()
	if len(p.Notes()) != 0 {
		t.Errorf("default policy has notes: %v", p.Notes())
	}
	if p.Revision() != revisionOf(DefaultYAML()) || len(p.Revision()) != 32 {
		t.Errorf("revision %q", p.Revision())
	}
	tests := []struct {
		name   string
		facts  detect.Facts
		action detect.Action
	}{
		{"exec", facts(), detect.ActionLog},
		{"container start", facts(start), detect.ActionLog},
		{"interactive exec", facts(tty), detect.ActionAlert},
		{"interactive container start", facts(start, tty), detect.ActionAlert},
		{"unreadable spec", facts(unknownSpec), detect.ActionLog},
		{"exec -i sh", facts(piped), detect.ActionAlert},
		{"exec -i python3 -", facts(piped, args("python3", "-")), detect.ActionAlert},
		{"container with stdin running sh", facts(start, piped), detect.ActionAlert},
		{"exec sh without stdin", facts(null), detect.ActionLog},
		{"exec -i sh -c", facts(piped, args("sh", "-c", "id")), detect.ActionLog},
		// kubectl cp and other readers of data on stdin.
		{"kubectl cp: tar xf -", facts(piped, args("tar", "xmf", "-", "-C", "/tmp")), detect.ActionLog},
		{"cat > file", facts(piped, args("sh", "-c", "cat > /tmp/f")), detect.ActionLog},
		{"cat", facts(piped, args("cat")), detect.ActionLog},
		{"tee", facts(piped, args("tee", "/tmp/f")), detect.ActionLog},
		{"dd", facts(piped, args("dd", "of=/tmp/f")), detect.ActionLog},
		{"gzip -d", facts(piped, args("gzip", "-d")), detect.ActionLog},
		{"base64 -d", facts(piped, args("base64", "-d")), detect.ActionLog},
		{"rsync --server", facts(piped, args("rsync", "--server", "-logDtpre.iLsfxC", ".", "/data")), detect.ActionLog},
	}
	for _, tt := range tests {
		d := Decision(tt.facts, p.Evaluate(tt.facts, noon), p.Revision())
		if d.Action != tt.action || d.Block {
			t.Errorf("%s: action %q block %v, want %q and no block", tt.name, d.Action, d.Block, tt.action)
		}
	}
}

func TestRevision(t *testing.T) {
	a := mustParse(t, selectorPolicy("processName: [sh]"))
	b := mustParse(t, selectorPolicy("processName: [sh]"))
	c := mustParse(t, selectorPolicy("processName: [bash]"))
	if a.Revision() != b.Revision() || a.Revision() == c.Revision() {
		t.Errorf("revisions %s %s %s: want equal for equal content, different otherwise", a.Revision(), b.Revision(), c.Revision())
	}
}

func TestParseImage(t *testing.T) {
	tests := []struct {
		ref  string
		want image
	}{
		{"nginx", image{"docker.io/library/nginx", "nginx", "latest"}},
		{"nginx:1.25", image{"docker.io/library/nginx", "nginx", "1.25"}},
		{"docker.io/nginx", image{"docker.io/library/nginx", "nginx", "latest"}},
		{"index.docker.io/library/nginx:1", image{"docker.io/library/nginx", "nginx", "1"}},
		{"bitnami/redis:7", image{"docker.io/bitnami/redis", "redis", "7"}},
		{"ghcr.io/acme/team/app:v2", image{"ghcr.io/acme/team/app", "app", "v2"}},
		{"localhost/app", image{"localhost/app", "app", "latest"}},
		{"registry:5000/app:1", image{"registry:5000/app", "app", "1"}},
		{"quay.io/x/y@sha256:ab", image{"quay.io/x/y", "y", ""}},
		{"quay.io/x/y:1@sha256:ab", image{"quay.io/x/y", "y", "1"}},
		{"", image{}},
	}
	for _, tt := range tests {
		if got := parseImage(tt.ref); got != tt.want {
			t.Errorf("parseImage(%q) = %+v, want %+v", tt.ref, got, tt.want)
		}
	}
}
