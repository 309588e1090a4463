package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/execguard/execguard/eventview"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/policy"
	"github.com/execguard/execguard/detect/policy/policyfile"
)

const testSynopsis = `Shows what the policy in FILE does with one exec or container start: which
selectors match, which responses apply, the resulting action. The call is
described by a sample event (an execguard or D4C process event, one JSON
document per line; each is tried) and/or by flags, which override the
event's fields. Without an event the call is an exec of "sh", as root,
without a terminal, now. With --kubernetes-user or --kubernetes-group the
call is decided as the admission webhook decides it, at the API, where the
requester is known; without them, as the nodes decide it.`

// callFlags are the facts a user can give on the command line; nil means
// not given.
type callFlags struct {
	namespace, pod, image, container, command, user, at, operation, clusterName, clusterID, stdin *string
	tty                                                                                           *bool
	labels                                                                                        []string
	// kubeUser and kubeGroups make the call one at the API, by them.
	kubeUser   *string
	kubeGroups []string
}

func (a *app) testCommand() *cobra.Command {
	var (
		event  string
		asJSON bool
		labels []string
		groups []string
		tty    bool
	)
	values := map[string]*string{}
	cmd := &cobra.Command{
		Use:   "test FILE [--event FILE.json] [flags]",
		Short: "show what a policy does with an exec or container start",
		Long:  testSynopsis,
		Example: `  execguard policy test policy.yaml --namespace shop --pod web-1 --tty --command "sh"
  execguard policy test policy.yaml --namespace shop --stdin attached --command "sh"
  execguard policy test policy.yaml --event events.ndjson --namespace ops-eu`,
		Args: exactArgs(1, "exactly one policy file"),
		RunE: a.action(func(cmd *cobra.Command, args []string) (int, error) {
			set := func(name string) *string {
				if cmd.Flags().Changed(name) {
					return values[name]
				}
				return nil
			}
			cf := callFlags{
				namespace: set("namespace"), pod: set("pod"), image: set("image"), container: set("container"),
				command: set("command"), user: set("user"), at: set("time"), operation: set("operation"),
				clusterName: set("cluster-name"), clusterID: set("cluster-id"), stdin: set("stdin"), labels: labels,
			}
			if cmd.Flags().Changed("tty") {
				cf.tty = &tty
			}
			cf.kubeUser, cf.kubeGroups = set("kubernetes-user"), groups
			return testPolicy(args[0], event, asJSON, cf, a.stdout)
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&event, "event", "", "sample event `FILE` (JSON, one document per line)")
	fl.BoolVar(&asJSON, "json", false, "print the result as JSON")
	for _, f := range []struct{ name, usage string }{
		{"namespace", "pod `namespace`"},
		{"pod", "pod `name`"},
		{"image", "container image `reference`, e.g. docker.io/library/nginx:1.25"},
		{"container", "container `name`"},
		{"command", "the command line, e.g. \"sh -c 'echo hi'\" (split like a shell)"},
		{"user", "process user: a numeric `id` or root"},
		{"time", "when the call happens, `RFC3339` (default now, or the event's @timestamp)"},
		{"operation", "exec or container-start"},
		{"cluster-name", "Kubernetes cluster `name`"},
		{"cluster-id", "Kubernetes cluster `id`"},
		{"stdin", "what the process's stdin is: terminal (as --tty), attached (kubectl exec -i) or none"},
		{"kubernetes-user", "decide at the API, as the admission webhook, for this Kubernetes user `name`"},
	} {
		values[f.name] = fl.String(f.name, "", f.usage)
	}
	fl.StringArrayVar(&labels, "label", nil, "pod label `key=value` (repeatable; key:value also works)")
	fl.StringArrayVar(&groups, "kubernetes-group", nil, "decide at the API for a user in this `group` (repeatable)")
	fl.BoolVar(&tty, "tty", false, "the process asks for a terminal (kubectl exec -it)")
	return cmd
}

// testPolicy evaluates the policy in file against the calls described by
// the event file and the flags.
func testPolicy(file, event string, asJSON bool, cf callFlags, stdout io.Writer) (int, error) {
	var calls []call
	if event != "" {
		data, err := os.ReadFile(event)
		if err != nil {
			return exitUsage, usagef("policy test: --event: %v", err)
		}
		calls, err = callsFromEvents(event, data)
		if err != nil {
			return exitUsage, usageError{err.Error()}
		}
	} else {
		calls = []call{defaultCall(time.Now())}
	}
	for i := range calls {
		if err := cf.apply(&calls[i]); err != nil {
			return exitUsage, usageError{"policy test: " + err.Error()}
		}
	}

	p, err := policyfile.Load(file)
	if err != nil {
		var es policy.Errors
		if errors.As(err, &es) {
			for _, e := range es {
				fmt.Fprintln(stdout, "error: "+e.Error())
			}
			fmt.Fprintf(stdout, "%s: invalid: %d %s\n", file, len(es), plural(len(es), "error", "errors"))
			return exitPolicy, nil
		}
		return exitPolicy, err
	}
	var outs []testJSON
	for i, c := range calls {
		out := evaluate(p, c)
		if asJSON {
			outs = append(outs, out)
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printTest(stdout, p, out)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		var v any = outs
		if len(outs) == 1 {
			v = outs[0]
		}
		if err := enc.Encode(v); err != nil {
			return exitPolicy, err
		}
	}
	return exitOK, nil
}

// call is one runtime call to try: its facts and when it happens.
type call struct {
	source string // where it came from, e.g. events.ndjson:3
	facts  detect.Facts
	at     time.Time
	// identity, when set, makes it a request at the API by that user;
	// uidKnown says the process's user is known there (--user given).
	identity *policy.Identity
	uidKnown bool
}

func defaultCall(now time.Time) call {
	return call{
		source: "flags",
		facts: detect.Facts{
			Operation: detect.OpExec,
			Process:   detect.Process{Args: []string{"sh"}, Known: true},
		},
		at: now,
	}
}

func (cf *callFlags) apply(c *call) error {
	f := &c.facts
	if cf.operation != nil {
		switch *cf.operation {
		case "exec":
			f.Operation = detect.OpExec
		case "container-start", "containerStart":
			f.Operation = detect.OpContainerStart
		default:
			return fmt.Errorf("--operation %q: want exec or container-start", *cf.operation)
		}
	}
	if cf.namespace != nil {
		f.Container.PodNamespace = *cf.namespace
	}
	if cf.pod != nil {
		f.Container.PodName = *cf.pod
	}
	if cf.container != nil {
		f.Container.Name = *cf.container
	}
	if cf.image != nil {
		f.Container.Image = *cf.image
	}
	if cf.clusterName != nil {
		f.Cluster.Name = *cf.clusterName
	}
	if cf.clusterID != nil {
		f.Cluster.ID = *cf.clusterID
	}
	if len(cf.labels) > 0 {
		f.Container.PodLabels = map[string]string{}
		for _, l := range cf.labels {
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				k, v, ok = strings.Cut(l, ":")
			}
			if !ok || k == "" {
				return fmt.Errorf("--label %q: want key=value", l)
			}
			f.Container.PodLabels[k] = v
		}
	}
	if cf.command != nil {
		words, err := policy.SplitCommandLine(*cf.command)
		if err != nil {
			return fmt.Errorf("--command: %v", err)
		}
		if len(words) == 0 {
			return fmt.Errorf("--command is empty")
		}
		f.Process.Args, f.Process.Known = words, true
	}
	if cf.stdin != nil {
		switch st := detect.Stdin(*cf.stdin); st {
		case detect.StdinTerminal:
			f.Process.Terminal, f.Process.Known = true, true
		case detect.StdinAttached, detect.StdinNone:
			f.Stdin = st
			f.Process.Terminal = false
		default:
			return fmt.Errorf("--stdin %q: want terminal, attached or none", *cf.stdin)
		}
	}
	if cf.tty != nil {
		f.Process.Terminal, f.Process.Known = *cf.tty, true
	}
	if cf.user != nil {
		uid, err := parseUser(*cf.user)
		if err != nil {
			return err
		}
		f.Process.UID, f.Process.Known = uid, true
		c.uidKnown = true
	}
	if cf.kubeUser != nil || len(cf.kubeGroups) > 0 {
		id := policy.Identity{Groups: cf.kubeGroups}
		if cf.kubeUser != nil {
			id.User = *cf.kubeUser
		}
		c.identity = &id
	}
	if cf.at != nil {
		t, err := time.Parse(time.RFC3339, *cf.at)
		if err != nil {
			return fmt.Errorf("--time %q: want RFC3339, e.g. 2026-03-14T02:30:00+01:00", *cf.at)
		}
		c.at = t
	}
	return nil
}

func parseUser(s string) (uint32, error) {
	if s == "root" {
		return 0, nil
	}
	id, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("--user %q: want a numeric id or root (names are not resolved, as in the policy)", s)
	}
	return uint32(id), nil
}

// testJSON is the outcome for one call.
type testJSON struct {
	Source    string         `json:"source"`
	Call      callJSON       `json:"call"`
	Policy    string         `json:"policy"`
	Revision  string         `json:"revision"`
	Selectors []string       `json:"selectors"`
	Responses []responseJSON `json:"responses"`
	Action    string         `json:"action"`
	Log       bool           `json:"log"`
	Alert     bool           `json:"alert"`
	Block     bool           `json:"block"`
	// Record: the terminal output of a terminal exec is recorded.
	Record bool   `json:"record,omitempty"`
	Reason string `json:"reason,omitempty"`
}

type callJSON struct {
	Operation   string            `json:"operation"`
	Args        []string          `json:"args,omitempty"`
	Interactive bool              `json:"interactive"`
	Stdin       string            `json:"stdin,omitempty"`
	StdinShell  bool              `json:"stdin_shell,omitempty"`
	UID         *uint32           `json:"uid,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Pod         string            `json:"pod,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Container   string            `json:"container,omitempty"`
	Image       string            `json:"image,omitempty"`
	ClusterName string            `json:"cluster_name,omitempty"`
	ClusterID   string            `json:"cluster_id,omitempty"`
	Time        string            `json:"time"`
	// At is "api" for a call decided as the admission webhook decides
	// it, by KubernetesUser and KubernetesGroups, else "runtime".
	At               string   `json:"at"`
	KubernetesUser   string   `json:"kubernetes_user,omitempty"`
	KubernetesGroups []string `json:"kubernetes_groups,omitempty"`
}

type responseJSON struct {
	Index      int      `json:"index"`
	Match      []string `json:"match"`
	Exclude    []string `json:"exclude,omitempty"`
	Actions    []string `json:"actions"`
	Applied    bool     `json:"applied"`
	Matched    []string `json:"matched,omitempty"`
	ExcludedBy []string `json:"excluded_by,omitempty"`
}

func evaluate(p *policy.Policy, c call) testJSON {
	var r policy.Result
	at := "runtime"
	if c.identity != nil {
		r = p.EvaluateRequest(policy.Request{Facts: c.facts, Identity: *c.identity, UIDKnown: c.uidKnown}, c.at)
		at = "api"
	} else {
		r = p.Evaluate(c.facts, c.at)
	}
	d := policy.Decision(c.facts, r, p.Revision())
	f := c.facts
	out := testJSON{
		Source: c.source, Policy: p.Source(), Revision: p.Revision(),
		Selectors: append([]string{}, r.Selectors...), Responses: []responseJSON{},
		Action: string(d.Action), Log: r.Log, Alert: r.Alert, Block: r.Block, Record: d.RecordsTerminal(c.facts), Reason: d.Reason,
		Call: callJSON{
			Operation: string(f.Operation), Args: f.Process.Args, Interactive: detect.InteractiveEntryLeader(f),
			Stdin: string(f.StdinKind()), StdinShell: detect.StdinShell(f),
			Namespace: f.Container.PodNamespace, Pod: f.Container.PodName, Labels: f.Container.PodLabels,
			Container: f.Container.Name, Image: f.Container.Image,
			ClusterName: f.Cluster.Name, ClusterID: f.Cluster.ID, Time: c.at.Format(time.RFC3339), At: at,
		},
	}
	if c.identity != nil {
		out.Call.KubernetesUser, out.Call.KubernetesGroups = c.identity.User, c.identity.Groups
	}
	if f.Process.Known && (c.identity == nil || c.uidKnown) {
		uid := f.Process.UID
		out.Call.UID = &uid
	}
	matched := map[string]bool{}
	for _, s := range r.Selectors {
		matched[s] = true
	}
	applied := map[int]bool{}
	for _, i := range r.Responses {
		applied[i] = true
	}
	for i := 0; i < p.NumResponses(); i++ {
		match, exclude, actions := p.Response(i)
		rj := responseJSON{Index: i, Match: match, Exclude: exclude, Actions: actions, Applied: applied[i]}
		for _, s := range match {
			if matched[s] {
				rj.Matched = append(rj.Matched, s)
			}
		}
		for _, s := range exclude {
			if matched[s] {
				rj.ExcludedBy = append(rj.ExcludedBy, s)
			}
		}
		out.Responses = append(out.Responses, rj)
	}
	return out
}

func printTest(w io.Writer, p *policy.Policy, t testJSON) {
	c := t.Call
	fmt.Fprintf(w, "policy:     %s (revision %s)\n", t.Policy, t.Revision)
	// Recorded values come from whoever ran the exec or wrote the pod:
	// escaped, they cannot act on the reader's terminal or forge a line.
	fmt.Fprintf(w, "call:       %s\n", eventview.Escape(describeCall(c)))
	if t.Source != "flags" {
		fmt.Fprintf(w, "from:       %s\n", eventview.Escape(t.Source))
	}
	if len(t.Selectors) == 0 {
		fmt.Fprintf(w, "selectors:  none matched\n")
	} else {
		fmt.Fprintf(w, "selectors:  %s\n", strings.Join(t.Selectors, ", "))
	}
	fmt.Fprintf(w, "responses:\n")
	for _, r := range t.Responses {
		var state string
		switch {
		case r.Applied:
			state = "applied (matched " + strings.Join(r.Matched, ", ") + ")"
		case len(r.Matched) > 0:
			state = "not applied: excluded by " + strings.Join(r.ExcludedBy, ", ")
		default:
			state = "not applied: no match selector matched"
		}
		line := fmt.Sprintf("  #%d match [%s]", r.Index, strings.Join(r.Match, ", "))
		if len(r.Exclude) > 0 {
			line += fmt.Sprintf(" exclude [%s]", strings.Join(r.Exclude, ", "))
		}
		fmt.Fprintf(w, "%s actions [%s]: %s\n", line, strings.Join(r.Actions, ", "), state)
	}
	var acts []string
	for _, a := range []struct {
		on   bool
		name string
	}{{t.Log, "log"}, {t.Alert, "alert"}, {t.Block, "block"}, {t.Record, "record"}} {
		if a.on {
			acts = append(acts, a.name)
		}
	}
	if len(acts) == 0 {
		acts = []string{"none (the call is still recorded)"}
	}
	fmt.Fprintf(w, "actions:    %s\n", strings.Join(acts, ", "))
	fmt.Fprintf(w, "result:     %s\n", t.Action)
	if t.Reason != "" {
		fmt.Fprintf(w, "refused:    %s\n", eventview.Escape(t.Reason))
	}
}

func describeCall(c callJSON) string {
	var b strings.Builder
	b.WriteString(c.Operation)
	if len(c.Args) > 0 {
		b.WriteString(" " + shellQuote(c.Args))
	}
	switch {
	case c.Interactive:
		b.WriteString(" with a terminal")
	case c.StdinShell:
		b.WriteString(" with stdin attached (a shell reading it)")
	case c.Stdin == string(detect.StdinAttached):
		b.WriteString(" with stdin attached")
	}
	if c.UID != nil {
		fmt.Fprintf(&b, " as uid %d", *c.UID)
	}
	if c.Container != "" {
		fmt.Fprintf(&b, " in container %s", c.Container)
	}
	if c.Pod != "" || c.Namespace != "" {
		fmt.Fprintf(&b, " of pod %s/%s", c.Namespace, c.Pod)
	}
	if len(c.Labels) > 0 {
		b.WriteString(" labels " + formatLabels(c.Labels))
	}
	if c.Image != "" {
		fmt.Fprintf(&b, " image %s", c.Image)
	}
	if c.ClusterName != "" || c.ClusterID != "" {
		fmt.Fprintf(&b, " cluster %s", strings.Trim(c.ClusterName+" "+c.ClusterID, " "))
	}
	fmt.Fprintf(&b, " at %s", c.Time)
	if c.At == "api" {
		fmt.Fprintf(&b, ", asked at the API by user %q", c.KubernetesUser)
		if len(c.KubernetesGroups) > 0 {
			fmt.Fprintf(&b, " in groups %s", strings.Join(c.KubernetesGroups, ", "))
		}
	}
	return b.String()
}

// shellQuote renders arguments so that SplitCommandLine gives them back.
func shellQuote(args []string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			parts[i] = a
			continue
		}
		parts[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(parts, " ")
}
