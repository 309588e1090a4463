package plugin

import (
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/state"
)

// The plugin's own rule: a running container whose runtime calls do not pass
// through the wrapper.
const (
	CoverageRuleID        = "4919c163-3e0e-40e4-8f59-c086f1432c3f"
	CoverageRuleName      = "Container not covered by execguard"
	CoverageRuleSeverity  = "medium"
	CoverageRuleRiskScore = 47
	// ActionCoverage and ActionEnd are the event.action of the plugin's
	// documents.
	ActionCoverage = "coverage"
	ActionEnd      = "end"
	agentName      = "execguard-nri"
)

// Host identifies the node, as the wrapper names it in its events.
func hostInfo() detect.Host {
	h := detect.Host{}
	if name, err := os.Hostname(); err == nil {
		h.Name = name
	}
	if id, err := os.ReadFile("/etc/machine-id"); err == nil {
		h.ID = strings.TrimSpace(string(id))
	}
	return h
}

// The documents below follow the wrapper's (detect/ecs.go) member for
// member, so that the same queries and index templates read both.
type pluginDoc struct {
	Timestamp    string           `json:"@timestamp"`
	Event        eventDoc         `json:"event"`
	Rule         *ruleDoc         `json:"rule,omitempty"`
	Kibana       *kibanaDoc       `json:"kibana,omitempty"`
	ECS          ecsDoc           `json:"ecs"`
	Process      *processDoc      `json:"process,omitempty"`
	Container    containerDoc     `json:"container"`
	Orchestrator *orchestratorDoc `json:"orchestrator,omitempty"`
	Host         hostDoc          `json:"host"`
	Agent        agentDoc         `json:"agent"`
	DataStream   dataStreamDoc    `json:"data_stream"`
	Execguard    execguardDoc     `json:"execguard"`
}

type ecsDoc struct {
	Version string `json:"version"`
}

type eventDoc struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Category  []string `json:"category"`
	Type      []string `json:"type"`
	Action    string   `json:"action"`
	Outcome   string   `json:"outcome"`
	Dataset   string   `json:"dataset"`
	Module    string   `json:"module"`
	Severity  int      `json:"severity,omitempty"`
	RiskScore int      `json:"risk_score,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Created   string   `json:"created"`
	Ingested  string   `json:"ingested"`
}

type ruleDoc struct {
	ID          string `json:"id"`
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Category    string `json:"category"`
	Ruleset     string `json:"ruleset"`
}

type kibanaDoc struct {
	Alert kibanaAlertDoc `json:"alert"`
}

type kibanaAlertDoc struct {
	Severity  string        `json:"severity"`
	RiskScore int           `json:"risk_score"`
	Rule      kibanaRuleDoc `json:"rule"`
}

type kibanaRuleDoc struct {
	RuleID string `json:"rule_id"`
	Name   string `json:"name"`
}

type processDoc struct {
	EntityID    string     `json:"entity_id,omitempty"`
	Name        string     `json:"name,omitempty"`
	Executable  string     `json:"executable,omitempty"`
	Args        []string   `json:"args,omitempty"`
	Interactive *bool      `json:"interactive,omitempty"`
	Start       string     `json:"start,omitempty"`
	End         string     `json:"end,omitempty"`
	ExitCode    *int32     `json:"exit_code,omitempty"`
	EntryLeader *leaderDoc `json:"entry_leader,omitempty"`
}

type leaderDoc struct {
	EntityID      string        `json:"entity_id,omitempty"`
	Name          string        `json:"name,omitempty"`
	Interactive   *bool         `json:"interactive,omitempty"`
	SameAsProcess bool          `json:"same_as_process"`
	EntryMeta     *entryMetaDoc `json:"entry_meta,omitempty"`
}

type entryMetaDoc struct {
	Type string `json:"type"`
}

type containerDoc struct {
	ID    string    `json:"id,omitempty"`
	Name  string    `json:"name,omitempty"`
	Image *imageDoc `json:"image,omitempty"`
}

type imageDoc struct {
	Name string `json:"name"`
	Tag  string `json:"tag,omitempty"`
}

type orchestratorDoc struct {
	Type      string      `json:"type"`
	Namespace string      `json:"namespace,omitempty"`
	Cluster   *clusterDoc `json:"cluster,omitempty"`
	Resource  resourceDoc `json:"resource"`
}

type clusterDoc struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

type resourceDoc struct {
	Name  string            `json:"name,omitempty"`
	Type  string            `json:"type"`
	ID    string            `json:"id,omitempty"`
	Label map[string]string `json:"label,omitempty"`
}

type hostDoc struct {
	Name     string `json:"name,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	ID       string `json:"id,omitempty"`
	OS       osDoc  `json:"os"`
}

type osDoc struct {
	Type string `json:"type"`
}

type agentDoc struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type dataStreamDoc struct {
	Type      string `json:"type"`
	Dataset   string `json:"dataset"`
	Namespace string `json:"namespace"`
}

type execguardDoc struct {
	Action         string `json:"action"`
	Reason         string `json:"reason,omitempty"`
	ImageDigest    string `json:"image_digest,omitempty"`
	RuntimeHandler string `json:"runtime_handler,omitempty"`
	SandboxID      string `json:"sandbox_id,omitempty"`
	// Pairing says how an end event pairs with its start: "entity_id" (the
	// wrapper's start event was found) or "container.id" (it was not).
	Pairing string `json:"pairing,omitempty"`
	// Detected says when the plugin saw the end, if later than it happened:
	// "resync" for an end found on reconnecting.
	Detected string `json:"detected,omitempty"`
}

// docContext is what every plugin document says of the node.
type docContext struct {
	host    detect.Host
	cluster detect.Cluster
}

func (dc docContext) base(now time.Time, kind, action string, r state.Container, parts ...string) *pluginDoc {
	ts := now.UTC().Format(time.RFC3339Nano)
	id := eventID(append([]string{dc.host.ID, r.ID, action, strconv.FormatInt(now.UnixNano(), 10)}, parts...)...)
	d := &pluginDoc{
		Timestamp: ts,
		Event: eventDoc{
			ID: id, Kind: kind, Action: action, Outcome: "success",
			Dataset: detect.Dataset, Module: "execguard", Created: ts, Ingested: ts,
		},
		ECS:        ecsDoc{Version: detect.ECSVersion},
		Container:  containerDoc{ID: r.ID, Name: r.Name},
		Host:       hostDoc{Name: dc.host.Name, Hostname: dc.host.Name, ID: dc.host.ID, OS: osDoc{Type: "linux"}},
		Agent:      agentDoc{Type: "execguard", Name: agentName},
		DataStream: dataStreamDoc{Type: "logs", Dataset: detect.Dataset, Namespace: "default"},
		Execguard: execguardDoc{
			Action: action, ImageDigest: r.ImageDigest, RuntimeHandler: r.RuntimeHandler, SandboxID: r.SandboxID,
		},
	}
	if r.Image != "" {
		name, tag := splitImage(r.Image)
		d.Container.Image = &imageDoc{Name: name, Tag: tag}
	}
	if r.PodName != "" || r.PodNamespace != "" {
		d.Orchestrator = &orchestratorDoc{
			Type:      "kubernetes",
			Namespace: r.PodNamespace,
			Resource:  resourceDoc{Name: r.PodName, Type: "pod", ID: r.PodUID, Label: r.PodLabels},
		}
		if dc.cluster != (detect.Cluster{}) {
			d.Orchestrator.Cluster = &clusterDoc{ID: dc.cluster.ID, Name: dc.cluster.Name}
		}
	}
	return d
}

// coverageAlert is the alert for a running container without the wrapper's
// coverage mark.
func (dc docContext) coverageAlert(now time.Time, r state.Container, reason string) ([]byte, error) {
	d := dc.base(now, "alert", ActionCoverage, r)
	d.Event.Category = []string{"configuration"}
	d.Event.Type = []string{"info"}
	d.Event.Severity = CoverageRuleRiskScore
	d.Event.RiskScore = CoverageRuleRiskScore
	d.Event.Reason = reason
	d.Execguard.Reason = reason
	d.Rule = &ruleDoc{
		ID: CoverageRuleID, UUID: CoverageRuleID, Name: CoverageRuleName,
		Description: "A running container's runtime calls do not pass through the execguard runtime wrapper, so its interactive sessions are neither recorded nor blocked: it was created before execguard was installed, or by a runtime handler (a VM runtime such as Kata, a per-pod runtime override) that does not use the wrapper.",
		Category:    "Defense Evasion", Ruleset: "execguard",
	}
	d.Kibana = &kibanaDoc{Alert: kibanaAlertDoc{
		Severity: CoverageRuleSeverity, RiskScore: CoverageRuleRiskScore,
		Rule: kibanaRuleDoc{RuleID: CoverageRuleID, Name: CoverageRuleName},
	}}
	return marshalLine(d)
}

// endEvent is the end of a container's init that was an interactive entry
// leader; it pairs with the wrapper's container-start event by container.id
// and, when that event was found, process.entity_id.
func (dc docContext) endEvent(now time.Time, r state.Container, si startInfo, args []string, exit *int32, detected string) ([]byte, error) {
	d := dc.base(now, "event", ActionEnd, r)
	d.Event.Category = []string{"process"}
	d.Event.Type = []string{"end"}
	interactive := true
	p := &processDoc{
		EntityID:    si.EntityID,
		Args:        args,
		Interactive: &interactive,
		End:         d.Timestamp,
		ExitCode:    exit,
	}
	if len(args) > 0 {
		p.Name = baseName(args[0])
		if strings.HasPrefix(args[0], "/") {
			p.Executable = args[0]
		}
	}
	if !si.Time.IsZero() {
		p.Start = si.Time.UTC().Format(time.RFC3339Nano)
	}
	p.EntryLeader = &leaderDoc{
		EntityID: si.EntityID, Name: p.Name, Interactive: &interactive,
		SameAsProcess: true, EntryMeta: &entryMetaDoc{Type: "container"},
	}
	d.Process = p
	d.Execguard.Pairing = "container.id"
	if si.EntityID != "" {
		d.Execguard.Pairing = "entity_id"
	}
	d.Execguard.Detected = detected
	return marshalLine(d)
}

func marshalLine(d *pluginDoc) ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// eventID derives a unique, opaque event id from its parts, the way the
// wrapper derives its ids.
func eventID(parts ...string) string {
	h := fnv.New128a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var sum [16]byte
	return base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0]))
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

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
