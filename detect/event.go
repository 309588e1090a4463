package detect

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The rule whose alerts execguard writes, with its ATT&CK mapping: RuleName,
// RuleSeverity and RuleRiskScore are its 2023 form's, Rule2026* its current
// form's (Elastic's detection-rules, updated 2026-07-29). The alert carries
// the metadata of the form whose query matched.
const (
	Rule2026Name      = "Exec Into Container Detected via Defend for Containers"
	Rule2026Severity  = "low"
	Rule2026RiskScore = 21

	RuleID        = "420e5bb4-93bf-40a3-8f4a-4cc1af90eca1"
	RuleName      = "Interactive Exec Command Launched Against A Running Container"
	RuleSeverity  = "high"
	RuleRiskScore = 73
	ECSVersion    = "8.11.0"
	Dataset       = "cloud_defend.process"
	// AlertsDataset is where alerts go, as Defend for Containers' do.
	AlertsDataset = "cloud_defend.alerts"
	// DefaultNamespace is data_stream.namespace unless configured.
	DefaultNamespace = "default"
	maxArgs          = 256
	maxArgBytes      = 4096
	maxCommandBytes  = 8192
)

// RuleQuery2023 and RuleQuery2026 are Elastic's rule 420e5bb4 as written in
// 2023 ("Interactive Exec Command Launched Against A Running Container") and
// in 2026 ("Exec Into Container Detected via Defend for Containers"), EQL. execguard's events are shaped so that both match them unchanged;
// the tests hold them to it.
const (
	RuleQuery2023 = `process where container.id : "*" and event.type== "start" and
/* use of kubectl exec to enter a container */
process.entry_leader.entry_meta.type : "container" and
/* process is the inital process run in a container */
process.entry_leader.same_as_process== true and
/* interactive process */
process.interactive == true`
	RuleQuery2026 = `process where host.os.type == "linux" and event.type == "start" and event.action == "exec" and process.name in ("bash","dash","sh","tcsh","csh","zsh","ksh","fish","busybox") and process.entry_leader.entry_meta.type == "container" and process.entry_leader.same_as_process == true and container.id like "*"`
)

// StdinShellRuleQuery is the attached-stdin shell rule's EQL query: it
// matches exactly the events of StdinShell calls (execguard.stdin_shell is
// set from it), refused or not, so Elasticsearch finds them too.
const StdinShellRuleQuery = `process where event.type in ("start", "denied") and event.action == "exec" and
process.entry_leader.entry_meta.type == "container" and process.entry_leader.same_as_process == true and
process.interactive == false and execguard.stdin == "attached" and execguard.stdin_shell == true`

// Host identifies the node in events.
type Host struct {
	Name string
	ID   string
}

// Record is one decision ready to be written: the facts, the decision and the
// context the documents need.
type Record struct {
	Facts    Facts
	Decision Decision
	Policy   Policy
	Host     Host
	Time     time.Time
	// Redactor rewrites arguments and environment for the documents; nil
	// records arguments as they are and environment variable names only.
	Redactor *Redactor
	// Agent names the front that wrote the record (agent.name); "" is the
	// runtime wrapper.
	Agent string
}

// Encode renders the record as NDJSON: the event line and, when the decision
// alerts, the alert line. One buffer, so the caller writes it in one write(2).
//
// The two documents differ only in their event and data_stream objects and
// the alert's rule, threat and kibana objects, so the shared members are
// encoded once and each line is put together from members:
// {"event":...,"data_stream":...,<alert members>,<shared>}.
func Encode(r Record) ([]byte, error) {
	doc := newDocument(r)
	ps := &parts{buf: make([]byte, 0, 8<<10)}
	shared, err := ps.marshal(doc)
	if err != nil {
		return nil, err
	}
	members := shared[1:] // drop '{'; doc always has members, so it ends in '}'
	event, err := ps.marshal(&doc.Event)
	if err != nil {
		return nil, err
	}
	// An alert on an interactive entry leader is the seed rule's, one on an
	// attached-stdin shell that rule's; a policy may also alert on other
	// processes (a netcat, an exec in a namespace), and those alerts must
	// not claim either rule.
	extra, seed, risk := alertMembers, RuleID, RuleRiskScore
	switch {
	case r.Decision.Interactive:
		// The seed rule's alert carries the metadata of the version that
		// matched; the 2023 form's when none did (a query left out).
		if ra, ok := decided(r.Decision.Decided, RuleID); ok {
			if extra, err = ra.members(ps); err != nil {
				return nil, fmt.Errorf("rule %s: %w", ra.ID, err)
			}
			risk = ra.RiskScore
		}
	case r.Decision.StdinShell:
		extra, seed = stdinShellAlertMembers, StdinShellRuleID
	default:
		extra, seed = policyAlertMembers, PolicyAlertRuleID
	}
	stream, err := ps.marshal(&doc.DataStream)
	if err != nil {
		return nil, err
	}
	alertStream, err := ps.marshal(alertDataStream(doc.DataStream))
	if err != nil {
		return nil, err
	}
	size := len(event) + len(stream) + len(members) + 32
	if r.Decision.Alert {
		size *= 2
		size += len(extra)
	}
	buf := make([]byte, 0, size)
	buf = appendLine(buf, event, stream, "", members)
	if !r.Decision.Alert {
		buf, err = appendRuleAlerts(buf, ps, r, doc.Event, alertStream, members, "")
		if err != nil {
			return nil, err
		}
		return escapeControls(buf), nil
	}
	ev := alertEvent(doc.Event)
	ev.ID = entityID(ev.ID, "alert")
	ev.Severity = risk
	ev.RiskScore = risk
	alert, err := ps.marshal(&ev)
	if err != nil {
		return nil, err
	}
	buf, err = appendRuleAlerts(appendLine(buf, alert, alertStream, extra, members), ps, r, doc.Event, alertStream, members, seed)
	if err != nil {
		return nil, err
	}
	return escapeControls(buf), nil
}

// decided is the alert of the policy-decided rule id among those that
// matched.
func decided(ras []RuleAlert, id string) (RuleAlert, bool) {
	for _, ra := range ras {
		if ra.ID == id {
			return ra, true
		}
	}
	return RuleAlert{}, false
}

// alertEvent is the event object of an alert on ev: Defend for Containers
// files alerts in their own dataset, which the rules over the process
// stream never read, so a rule fires once per process, not once more per
// alert.
func alertEvent(ev eventDoc) eventDoc {
	ev.Kind = "alert"
	ev.Dataset = AlertsDataset
	return ev
}

func alertDataStream(ds dataStreamDoc) dataStreamDoc {
	ds.Dataset = AlertsDataset
	return ds
}

func appendLine(buf, event, stream []byte, extra string, members []byte) []byte {
	buf = append(buf, `{"event":`...)
	buf = append(buf, event...)
	buf = append(buf, `,"data_stream":`...)
	buf = append(buf, stream...)
	buf = append(buf, ',')
	if extra != "" {
		buf = append(buf, extra...)
		buf = append(buf, ',')
	}
	buf = append(buf, members...)
	return append(buf, '\n')
}

// eventID is the event.id of the record's event document.
func eventID(r Record) string {
	return entityID(r.Host.ID, r.Facts.Container.ID, r.Facts.ExecID, strconv.FormatInt(r.Time.UnixNano(), 10))
}

// ProcessEntityID is the process.entity_id the record's documents carry, so
// that a later event (a container's end) can pair with them.
func ProcessEntityID(r Record) string { return entityID(eventID(r), "process") }

// Timestamp is the @timestamp of the record's documents.
func Timestamp(r Record) string { return r.Time.UTC().Format(time.RFC3339Nano) }

func newDocument(r Record) *document {
	f, d := r.Facts, r.Decision
	ts := Timestamp(r)
	eventID := eventID(r)

	doc := &document{
		Timestamp: ts,
		ECS:       ecsDoc{Version: ECSVersion},
		Event: eventDoc{
			ID:       eventID,
			Kind:     "event",
			Category: []string{"process"},
			Type:     []string{"start"},
			Action:   eventAction(f.Operation),
			Outcome:  "success",
			Dataset:  Dataset,
			Module:   "execguard",
			Created:  ts,
			Ingested: ts,
		},
		Container:  containerDoc{ID: f.Container.ID, Name: f.Container.Name, Runtime: f.Container.Runtime},
		Host:       hostDoc{Name: r.Host.Name, Hostname: r.Host.Name, ID: r.Host.ID, OS: osDoc{Type: "linux"}},
		Cloud:      cloudOf(r.Host),
		Agent:      agentDoc{Type: "execguard", Name: agentName(r.Agent)},
		DataStream: dataStreamOf(f.Namespace),
		Execguard: execguardDoc{
			Operation:   string(f.Operation),
			Subcommand:  f.Subcommand,
			Action:      string(d.Action),
			FailMode:    string(r.Policy.FailMode),
			Reason:      d.Reason,
			ExecID:      f.ExecID,
			ExecKind:    string(f.ExecKind),
			Caller:      f.Caller.Engine,
			Bundle:      f.Container.Bundle,
			Manager:     f.Container.Manager,
			Type:        f.Container.Type,
			Stdin:       string(f.StdinKind()),
			StdinSource: f.StdinSource,
			StdinShell:  d.StdinShell,
		},
	}
	if f.ExecKind == ExecSync && f.Process.Known && f.Process.Terminal {
		doc.Execguard.TerminalRequested = true
	}
	doc.Execguard.Recorded = d.RecordsTerminal(f)
	switch {
	case d.Block:
		doc.Event.Type = []string{"denied"}
		doc.Event.Outcome = "failure"
	case f.Operation == OpUnknown:
		doc.Event.Type = []string{"info"}
		doc.Event.Outcome = "unknown"
	}
	doc.Container.Image = imageOf(f.Container.Image)
	if len(d.Selectors) > 0 {
		doc.CloudDefend = &cloudDefendDoc{MatchedSelectors: d.Selectors}
	}
	doc.Execguard.PolicyRevision = d.PolicyRevision
	doc.Execguard.MatchedRules = d.MatchedRules
	doc.Execguard.ImageDigest = f.Container.ImageDigest
	doc.Execguard.RuntimeHandler = f.Container.RuntimeHandler
	doc.Orchestrator = orchestratorOf(f.Container, f.Cluster)
	if len(f.Problems) > 0 {
		doc.Error = &errorDoc{Message: strings.Join(f.Problems, "; ")}
	}
	if r.Policy.Err != "" {
		doc.Execguard.PolicyError = r.Policy.Err
	}
	if f.Operation != OpUnknown {
		doc.Process = newProcessDoc(f, ProcessEntityID(r), ts, d.Interactive, r.Redactor)
		doc.Execguard.Truncated = doc.Process.Truncated
	}
	return doc
}

// eventAction is event.action for an operation: exec for an exec and for a
// container's init alike, as Defend for Containers records a container's
// first process (execguard.operation tells them apart).
func eventAction(op Operation) string {
	if op == OpContainerStart {
		return string(OpExec)
	}
	return string(op)
}

func dataStreamOf(namespace string) dataStreamDoc {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return dataStreamDoc{Type: "logs", Dataset: Dataset, Namespace: namespace}
}

// cloudOf names the node as the Kubernetes page groups it
// (cloud.instance.name).
func cloudOf(h Host) *cloudDoc {
	if h.Name == "" {
		return nil
	}
	c := &cloudDoc{}
	c.Instance.Name = h.Name
	return c
}

func agentName(a string) string {
	if a == "" {
		return "execguard-runtime"
	}
	return a
}

func newProcessDoc(f Facts, id, start string, interactive bool, red *Redactor) *processDoc {
	// The process starts with the decision's event; Session View opens a
	// session from its entry leader's entity_id and start.
	p := &processDoc{
		PID:      f.Process.PID,
		EntityID: id,
		Start:    start,
		Parent:   &parentDoc{PID: f.Caller.PID, Name: f.Caller.Name, Executable: f.Caller.Executable},
	}
	leader := leaderDoc{PID: f.Process.PID, EntityID: id, Start: start, SameAsProcess: true}
	if f.Process.Known {
		// Cut first, then redact: redaction then reads at most what the
		// event keeps (matching megabytes costs the exec time).
		args, truncated := capArgs(f.Process.Args)
		args = red.Args(args)
		p.Name = f.Process.Name()
		if len(f.Process.Args) > 0 && strings.HasPrefix(f.Process.Args[0], "/") {
			p.Executable = capString(f.Process.Args[0], maxArgBytes)
		}
		p.Args = args
		p.ArgsCount = len(f.Process.Args)
		p.CommandLine = capString(strings.Join(args, " "), maxCommandBytes)
		p.WorkingDirectory = capString(f.Process.Cwd, maxArgBytes)
		env, envCut := capArgs(f.Process.Env)
		env = red.Env(env)
		p.EnvVars = env
		truncated = truncated || envCut
		p.Interactive = &interactive
		p.User = &idDoc{ID: strconv.FormatUint(uint64(f.Process.UID), 10), Name: f.Process.UserName}
		p.Group = &idDoc{ID: strconv.FormatUint(uint64(f.Process.GID), 10)}
		p.Truncated = truncated
		if f.Process.Terminal {
			p.TTY = ttyOf(f.Process)
		}
		leader.Name, leader.Executable, leader.Args = p.Name, p.Executable, p.Args
		leader.Interactive = p.Interactive
		leader.User = p.User
	}
	// An exec'd process and a container's init are each the entry leader,
	// session leader and group leader of their own session in the container.
	entry := leader
	entry.EntryMeta = &entryMetaDoc{Type: "container"}
	p.EntryLeader = &entry
	p.SessionLeader = &leader
	p.GroupLeader = &leader
	return p
}

// ttyOf is what is known of a terminal process's terminal; nil when
// nothing is.
func ttyOf(p Process) *ttyDoc {
	t := &ttyDoc{Rows: p.ConsoleRows, Columns: p.ConsoleColumns}
	if p.TTY != nil {
		t.CharDevice = &charDeviceDoc{Major: p.TTY.Major, Minor: p.TTY.Minor}
	}
	if *t == (ttyDoc{}) {
		return nil
	}
	return t
}

func imageOf(ref string) *imageDoc {
	if ref == "" {
		return nil
	}
	name, tag := splitImage(ref)
	return &imageDoc{Name: name, Tag: tag}
}

// orchestratorOf is the Kubernetes view of a container, when it is a pod's.
func orchestratorOf(c Container, cluster Cluster) *orchestratorDoc {
	if c.PodName == "" && c.PodNamespace == "" {
		return nil
	}
	o := &orchestratorDoc{
		Type:      "kubernetes",
		Namespace: c.PodNamespace,
		Resource:  resourceDoc{Name: c.PodName, Type: "pod", ID: c.PodUID, Label: c.PodLabels},
	}
	if cluster != (Cluster{}) {
		o.Cluster = &clusterDoc{ID: cluster.ID, Name: cluster.Name}
	}
	return o
}

// capArgs bounds what one event carries, so a huge argument list still gives
// one reasonable line; args_count keeps the true count.
func capArgs(args []string) ([]string, bool) {
	truncated := false
	n := len(args)
	if n > maxArgs {
		n, truncated = maxArgs, true
	}
	out := make([]string, n)
	for i := 0; i < n; i++ {
		out[i] = capString(args[i], maxArgBytes)
		if len(out[i]) != len(args[i]) {
			truncated = true
		}
	}
	return out, truncated
}

// capString cuts s to at most max bytes, at a character boundary so the cut
// does not leave a broken UTF-8 sequence.
func capString(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && cut > max-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// splitImage splits a reference into name and tag (or digest).
func splitImage(ref string) (name, tag string) {
	if i := strings.LastIndexByte(ref, '@'); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	slash := strings.LastIndexByte(ref, '/')
	if i := strings.LastIndexByte(ref, ':'); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

// entityID derives a stable, opaque id from its parts. The ids need to be
// unique, not secret: FNV-1a 128 keeps crypto (and its start-up cost) out of
// the wrapper.
func entityID(parts ...string) string {
	h := fnv.New128a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var sum [16]byte
	return base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0]))
}
