// Package policy is execguard's policy language: Elastic Defend for
// Containers (D4C) process selectors and responses, compiled once and
// evaluated per runtime call. Package policyfile reads policies from YAML;
// this package links no YAML parser, so the runtime wrapper does not either
// (LoadOrLastGood, HelperParser).
//
//	process:
//	  selectors:
//	    - name: interactive
//	      operation: [exec]
//	      sessionLeaderInteractive: true
//	    - name: ops-maintenance
//	      kubernetesNamespace: [ops-*]
//	  responses:
//	    - match: [interactive]
//	      exclude: [ops-maintenance]
//	      actions: [alert, block]
//
// Inside a selector the conditions are ANDed and the values of one condition
// ORed. A response applies when any of its match selectors matches and none
// of its exclude selectors does; the actions of every response that applies
// add up. docs/policy.md describes every condition.
package policy

import (
	_ "embed"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io"
	"math/bits"
	"os"
	"strings"
	"time"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/policy/internal/spec"
)

// defaultYAML is the policy used when none is configured; the file is also
// the documented example shipped with execguard.
//
//go:embed default.yaml
var defaultYAML []byte

// Policy is a compiled, valid policy. It is immutable and safe for
// concurrent use.
type Policy struct {
	source    string
	revision  string
	selectors []selector
	responses []response
	notes     Errors
	usesImage bool
}

// Result is what a policy says about one runtime call.
type Result struct {
	// Selectors are the names of the selectors that matched, in policy order.
	Selectors []string
	// Responses are the indexes of the responses that applied, in order.
	Responses []int
	// Log, Alert and Block are the actions of the responses that applied.
	Log, Alert, Block bool
	// Record: a response that applied records the session's terminal
	// output.
	Record bool
	// Cause names the matching selectors of the strongest response that
	// applied (the first that blocks, else alerts, else logs): what a
	// refusal or an alert cites.
	Cause []string
}

// Compile compiles the spec of a policy read from file, whose content is
// data (its hash is the revision). It is for package policyfile, which reads
// specs from YAML.
func Compile(file string, data []byte, s *spec.Spec) (*Policy, error) {
	p, errs := compile(file, s)
	if errs != nil {
		return nil, errs
	}
	p.revision = revisionOf(data)
	return p, nil
}

// ReadFile reads a policy file, refusing one larger than MaxFileSize
// without reading it all. Its errors are Errors naming the file.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))}}
	}
	if len(data) > MaxFileSize {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("larger than %d bytes", MaxFileSize), Hint: "a policy is a few KiB; is this the right file?"}}
	}
	return data, nil
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Default is the policy used when none is configured: log every exec and
// container start, alert on the interactive ones and on attached-stdin
// shells, block nothing. It is default.yaml compiled, written out in Go
// (defaultPolicy) so that nothing is parsed or compiled at run time.
func Default() *Policy {
	p := defaultPolicy
	return &p
}

// defaultPolicy is default.yaml compiled (TestDefaultPolicyCompiled holds
// it to the compiled spec of default.yaml), written out so that a runtime
// call, which needs it whenever no policy file is configured, neither
// builds nor compiles it: static data, shared by every copy Default hands
// out, and never changed (a Policy is read-only once compiled).
var defaultPolicy = Policy{
	source:   "default.yaml",
	revision: defaultRevision,
	selectors: []selector{
		{name: "allProcesses", ops: opExec | opStart, hasOps: true, checks: []check{}},
		{name: "interactiveProcesses", ops: opExec | opStart, hasOps: true, checks: []check{{kind: cInteractive, flag: true}}},
		{name: "stdinShells", ops: opExec | opStart, hasOps: true, checks: []check{{kind: cStdinShell, flag: true}}},
	},
	responses: []response{
		{match: []int{0}, exclude: []int{}, log: true},
		{match: []int{1}, exclude: []int{}, alert: true},
		{match: []int{2}, exclude: []int{}, alert: true},
	},
}

// defaultRevision is revisionOf(defaultYAML), which TestDefaultRevision
// holds: hashing the file on every runtime call costs more than reading it.
const defaultRevision = "b0ea6d13c86e94d20a2145b981fdbe55"

// DefaultYAML returns the text of the default policy, a documented example.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

// Revision identifies the policy's content: a hash of its file.
func (p *Policy) Revision() string { return p.revision }

// Source is the file the policy was read from.
func (p *Policy) Source() string { return p.source }

// Notes are warnings about a valid policy: things that are allowed but
// probably not meant, and parts execguard ignores.
func (p *Policy) Notes() Errors { return p.notes }

// SelectorNames lists the selectors in policy order.
func (p *Policy) SelectorNames() []string {
	out := make([]string, len(p.selectors))
	for i := range p.selectors {
		out[i] = p.selectors[i].name
	}
	return out
}

// Response describes response i: the selectors it matches and excludes and
// its actions, in the order log, alert, block.
func (p *Policy) Response(i int) (match, exclude, actions []string) {
	r := &p.responses[i]
	for _, s := range r.match {
		match = append(match, p.selectors[s].name)
	}
	for _, s := range r.exclude {
		exclude = append(exclude, p.selectors[s].name)
	}
	if r.log {
		actions = append(actions, "log")
	}
	if r.alert {
		actions = append(actions, "alert")
	}
	if r.block {
		actions = append(actions, "block")
	}
	if r.record {
		actions = append(actions, "record")
	}
	return match, exclude, actions
}

// NumResponses is the number of responses.
func (p *Policy) NumResponses() int { return len(p.responses) }

// revisionOf hashes a policy file: FNV-1a 128, hex. The revision names a
// content, it is no security boundary, and hash/fnv keeps crypto's start-up
// cost out of the wrapper.
func revisionOf(data []byte) string {
	h := fnv.New128a()
	h.Write(data)
	var sum [16]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// view is the facts of one call as the conditions read them, derived once.
type view struct {
	op          uint8
	known       bool
	interactive bool
	stdin       detect.Stdin
	stdinShell  bool
	uid         uint32
	executable  string
	name        string
	args        []string
	container   string
	namespace   string
	pod         string
	clusterID   string
	clusterName string
	image       image
	labels      map[string]string
	now         time.Time
	rules       []string
	// uidKnown is false where the process's user is not known although
	// its spec is (the admission webhook: the image decides it).
	uidKnown bool
	// identity is true where the requester is known (the admission
	// webhook); user and groups are then theirs.
	identity bool
	user     string
	groups   []string
}

// Identity is who asked for a call, as the Kubernetes API server
// authenticated them. Only the admission webhook knows it: at the runtime a
// call has no identity, and kubernetesUser and kubernetesGroup conditions
// never hold there.
type Identity struct {
	User   string
	Groups []string
}

// Request is a call as the Kubernetes API server is asked for it (kubectl
// exec, attach, debug), before it reaches any node.
type Request struct {
	// Facts are what the request says of the call. Process.Known means the
	// request says whether a terminal is asked for; Process.Args may still
	// be empty (an attach, or a container whose command is its image's).
	Facts    detect.Facts
	Identity Identity
	// UIDKnown says Process.UID is the user the process will run as; it
	// is usually not known before the container runtime reads the image.
	UIDKnown bool
}

// Evaluate applies the policy to the facts of one call at time now. Only
// execs and container starts are subject to the policy; for other calls the
// result is empty.
func (p *Policy) Evaluate(f detect.Facts, now time.Time) Result {
	return p.EvaluateWithRules(f, now, nil)
}

// EvaluateWithRules is Evaluate for a call whose event matched detection
// rules: rules holds the ids and names of the rules that matched, which
// detectionRule conditions read.
func (p *Policy) EvaluateWithRules(f detect.Facts, now time.Time, rules []string) Result {
	v := p.viewOf(f, now)
	v.rules = rules
	v.uidKnown = f.Process.Known
	return p.evaluate(&v)
}

// EvaluateRequest applies the policy to a request at the Kubernetes API,
// whose requester is known. Detection rules do not run there.
func (p *Policy) EvaluateRequest(req Request, now time.Time) Result {
	v := p.viewOf(req.Facts, now)
	v.uidKnown = req.Facts.Process.Known && req.UIDKnown
	v.identity = true
	v.user = req.Identity.User
	v.groups = req.Identity.Groups
	return p.evaluate(&v)
}

func (p *Policy) viewOf(f detect.Facts, now time.Time) view {
	v := view{
		known:       f.Process.Known,
		interactive: detect.InteractiveEntryLeader(f),
		stdin:       f.StdinKind(),
		stdinShell:  detect.StdinShell(f),
		uid:         f.Process.UID,
		name:        f.Process.Name(),
		args:        f.Process.Args,
		container:   f.Container.Name,
		namespace:   f.Container.PodNamespace,
		pod:         f.Container.PodName,
		clusterID:   f.Cluster.ID,
		clusterName: f.Cluster.Name,
		labels:      f.Container.PodLabels,
		now:         now,
	}
	switch f.Operation {
	case detect.OpExec:
		v.op = opExec
	case detect.OpContainerStart:
		v.op = opStart
	}
	if len(v.args) > 0 {
		v.executable = v.args[0]
	}
	if p.usesImage {
		v.image = parseImage(f.Container.Image)
	}
	return v
}

func (p *Policy) evaluate(v *view) Result {
	var r Result
	if v.op == 0 {
		return r
	}

	var buf [256]bool
	matched := buf[:0]
	if len(p.selectors) > len(buf) {
		matched = make([]bool, 0, len(p.selectors))
	}
	for i := range p.selectors {
		ok := p.selectors[i].matches(v)
		matched = append(matched, ok)
		if ok {
			r.Selectors = append(r.Selectors, p.selectors[i].name)
		}
	}
	cause, strength := -1, 0
	for i := range p.responses {
		resp := &p.responses[i]
		if !anyOf(matched, resp.match) || anyOf(matched, resp.exclude) {
			continue
		}
		r.Responses = append(r.Responses, i)
		r.Log = r.Log || resp.log
		r.Alert = r.Alert || resp.alert
		r.Block = r.Block || resp.block
		r.Record = r.Record || resp.record
		if s := resp.strength(); s > strength {
			cause, strength = i, s
		}
	}
	if cause >= 0 {
		for _, s := range p.responses[cause].match {
			if matched[s] {
				r.Cause = append(r.Cause, p.selectors[s].name)
			}
		}
	}
	return r
}

func (r *response) strength() int {
	switch {
	case r.block:
		return 3
	case r.alert:
		return 2
	case r.log:
		return 1
	}
	return 0
}

func anyOf(matched []bool, idx []int) bool {
	for _, i := range idx {
		if matched[i] {
			return true
		}
	}
	return false
}

func (s *selector) matches(v *view) bool {
	if s.hasOps && s.ops&v.op == 0 {
		return false
	}
	for i := range s.checks {
		if !s.checks[i].matches(v) {
			return false
		}
	}
	return true
}

func (c *check) matches(v *view) bool {
	switch c.kind {
	case cInteractive:
		return v.known && v.interactive == c.flag
	case cStdin:
		for _, s := range c.stdin {
			if s == v.stdin {
				return true
			}
		}
		return false
	case cStdinShell:
		return v.known && v.stdinShell == c.flag
	case cUserID, cUserName:
		if !v.uidKnown {
			return false
		}
		for _, id := range c.ids {
			if id == v.uid {
				return true
			}
		}
		return false
	case cNamespace:
		return anyGlob(c.globs, v.namespace)
	case cPodName:
		return anyGlob(c.globs, v.pod)
	case cContainerName:
		return anyGlob(c.globs, v.container)
	case cClusterID:
		return anyGlob(c.globs, v.clusterID)
	case cClusterName:
		return anyGlob(c.globs, v.clusterName)
	case cImageName:
		return anyGlob(c.globs, v.image.name)
	case cImageFullName:
		return anyGlob(c.globs, v.image.fullName)
	case cImageTag:
		return anyGlob(c.globs, v.image.tag)
	case cProcessName:
		return anyGlob(c.globs, v.name)
	case cExecutable:
		return anyGlob(c.globs, v.executable)
	case cPodLabel:
		for i := range c.labels {
			if val, ok := v.labels[c.labels[i].key]; ok && c.labels[i].value.match(val) {
				return true
			}
		}
		return false
	case cArgs:
		if len(v.args) == 0 {
			return false
		}
		for i := range c.args {
			if c.args[i].match(v.args) {
				return true
			}
		}
		return false
	case cDetectionRule:
		for _, want := range c.rules {
			for _, got := range v.rules {
				if want == got || want == "*" {
					return true
				}
			}
		}
		return false
	case cKubeUser:
		return v.identity && anyGlob(c.globs, v.user)
	case cKubeGroup:
		if !v.identity {
			return false
		}
		for _, g := range v.groups {
			if anyGlob(c.globs, g) {
				return true
			}
		}
		return false
	case cWindow:
		for i := range c.windows {
			if c.windows[i].contains(v.now) {
				return true
			}
		}
		return false
	}
	return false
}

// anyGlob reports whether s matches one of the patterns. An absent fact (an
// empty string) matches nothing, not even *.
func anyGlob(gs []glob, s string) bool {
	if s == "" {
		return false
	}
	for i := range gs {
		if gs[i].match(s) {
			return true
		}
	}
	return false
}

func (a *argsPattern) match(args []string) bool {
	n := len(a.words)
	d := uint64(1)
	d |= (d & a.multi) << 1
	for _, arg := range args {
		var nd uint64
		for live := d &^ (1 << n); live != 0; live &= live - 1 {
			s := bits.TrailingZeros64(live)
			if a.multi&(1<<s) != 0 {
				nd |= 1 << s
			} else if a.words[s].match(arg) {
				nd |= 1 << (s + 1)
			}
		}
		if nd == 0 {
			return false
		}
		d = nd | (nd&a.multi)<<1
	}
	return d&(1<<n) != 0
}

// Decision turns a result into the wrapper's decision: the strongest action
// (block, alert, log, or "none" when no response applied), the matched
// selectors, the policy revision, and the reason a refused user sees.
func Decision(f detect.Facts, r Result, revision string) detect.Decision {
	d := detect.Decision{
		Interactive:    detect.InteractiveEntryLeader(f),
		StdinShell:     detect.StdinShell(f),
		Action:         ActionNone,
		Selectors:      r.Selectors,
		PolicyRevision: revision,
		Record:         r.Record && !r.Block,
	}
	switch {
	case r.Block:
		d.Action, d.Alert, d.Block = detect.ActionBlock, true, true
		d.Reason = reason(f, d, r.Cause)
	case r.Alert:
		d.Action, d.Alert = detect.ActionAlert, true
	case r.Log:
		d.Action = detect.ActionLog
	}
	return d
}

// ActionNone is the action of a call no response applied to: it is still
// recorded, as every exec and container start is.
const ActionNone detect.Action = "none"

func reason(f detect.Facts, d detect.Decision, cause []string) string {
	what := detect.DescribeCall(f, d.Interactive, d.StdinShell)
	by := ""
	switch len(cause) {
	case 0:
	case 1:
		by = " (selector " + cause[0] + ")"
	default:
		by = " (selectors " + strings.Join(cause, ", ") + ")"
	}
	return "execguard: " + what + " blocked by policy" + by
}
