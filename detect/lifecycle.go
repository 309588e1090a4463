package detect

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The NRI plugin's documents: the end of an interactive container's init,
// and the alert for a container whose runtime calls bypass the wrapper. They
// share the wrapper's document shape, so the same queries and index
// templates read all of execguard's events.

// The coverage rule: a running container whose runtime calls do not pass
// through the wrapper.
const (
	CoverageRuleID        = "4919c163-3e0e-40e4-8f59-c086f1432c3f"
	CoverageRuleName      = "Container not covered by execguard"
	CoverageRuleSeverity  = "medium"
	CoverageRuleRiskScore = 47
	// ActionCoverage and ActionEnd are the event.action of those documents.
	ActionCoverage = "coverage"
	ActionEnd      = "end"
)

const coverageMembers = `"rule":{"id":"` + CoverageRuleID + `","uuid":"` + CoverageRuleID + `","name":"` + CoverageRuleName + `",` +
	`"description":"A running container's runtime calls do not pass through the execguard runtime wrapper, so its interactive sessions are neither recorded nor blocked: it was created before execguard was installed, or by a runtime handler (a VM runtime such as Kata, a per-pod runtime override) that does not use the wrapper.",` +
	`"category":"Defense Evasion","ruleset":"execguard"},` +
	`"kibana":{"alert":{"severity":"` + CoverageRuleSeverity + `","risk_score":47,"rule":{"rule_id":"` + CoverageRuleID + `","name":"` + CoverageRuleName + `"}}}`

// Lifecycle is what a plugin document says of its container and node.
type Lifecycle struct {
	Container Container
	Cluster   Cluster
	Host      Host
	Time      time.Time
	// Agent names the writer (agent.name).
	Agent string
	// Namespace is data_stream.namespace; "" is "default".
	Namespace string
}

// End is the end of a container's init that was an interactive entry
// leader, paired with the wrapper's container-start event.
type End struct {
	Lifecycle
	Args []string
	// StartEntityID and StartTime are the start event's process.entity_id
	// and @timestamp; empty when unknown (then the end pairs by
	// container.id only).
	StartEntityID string
	StartTime     string
	ExitCode      *int32
	// Detected is "resync" for an end found on reconnecting, else empty.
	Detected string
	// PID is the ended process's pid (process.pid), 0 when unknown.
	PID uint32
	// ExecID names the exec whose process ended; "" for a container's init.
	ExecID string
	// NotInteractive marks the end of a process that was no interactive
	// entry leader: the shim ends every process it started, the plugin only
	// interactive inits.
	NotInteractive bool
}

// EncodeEnd renders an end event as one NDJSON line.
func EncodeEnd(e End) ([]byte, error) {
	d := e.document("event", ActionEnd)
	d.Event.Type = []string{"end"}
	interactive := !e.NotInteractive
	if start, err := time.Parse(time.RFC3339Nano, e.StartTime); err == nil && !e.Time.Before(start) {
		d.Event.Duration = e.Time.Sub(start).Nanoseconds()
	}
	d.Execguard.ExecID = e.ExecID
	d.Execguard.Operation = string(OpExec)
	if e.ExecID == "" {
		d.Execguard.Operation = string(OpContainerStart)
	}
	p := &processDoc{
		PID:         e.PID,
		EntityID:    e.StartEntityID,
		Args:        e.Args,
		Interactive: &interactive,
		Start:       e.StartTime,
		End:         d.Timestamp,
		ExitCode:    e.ExitCode,
	}
	if len(e.Args) > 0 {
		p.Name = baseName(e.Args[0])
		if strings.HasPrefix(e.Args[0], "/") {
			p.Executable = e.Args[0]
		}
	}
	p.EntryLeader = &leaderDoc{
		PID: e.PID, EntityID: e.StartEntityID, Start: e.StartTime, Name: p.Name, Interactive: &interactive,
		SameAsProcess: true, EntryMeta: &entryMetaDoc{Type: "container"},
	}
	d.Process = p
	d.Execguard.Pairing = "container.id"
	if e.StartEntityID != "" {
		d.Execguard.Pairing = "entity_id"
	}
	d.Execguard.Detected = e.Detected
	return encodeLine(d, "")
}

// EncodeCoverageAlert renders the alert for a running container without the
// wrapper's coverage mark.
func EncodeCoverageAlert(l Lifecycle, reason string) ([]byte, error) {
	d := l.document("alert", ActionCoverage)
	d.Event.Category = []string{"configuration"}
	d.Event.Type = []string{"info"}
	d.Event.Severity = CoverageRuleRiskScore
	d.Event.RiskScore = CoverageRuleRiskScore
	d.Event.Reason = reason
	d.Event.Dataset = AlertsDataset
	d.DataStream.Dataset = AlertsDataset
	d.Execguard.Reason = reason
	return encodeLine(d, coverageMembers)
}

func (l Lifecycle) document(kind, action string) *document {
	ts := l.Time.UTC().Format(time.RFC3339Nano)
	c := l.Container
	d := &document{
		Timestamp: ts,
		ECS:       ecsDoc{Version: ECSVersion},
		Event: eventDoc{
			ID:       entityID(l.Host.ID, c.ID, action, strconv.FormatInt(l.Time.UnixNano(), 10)),
			Kind:     kind,
			Category: []string{"process"},
			Action:   action,
			Outcome:  "success",
			Dataset:  Dataset,
			Module:   "execguard",
			Created:  ts,
			Ingested: ts,
		},
		Container:  containerDoc{ID: c.ID, Name: c.Name, Runtime: c.Runtime},
		Host:       hostDoc{Name: l.Host.Name, Hostname: l.Host.Name, ID: l.Host.ID, OS: osDoc{Type: "linux"}},
		Cloud:      cloudOf(l.Host),
		Agent:      agentDoc{Type: "execguard", Name: l.Agent},
		DataStream: dataStreamOf(l.Namespace),
		Execguard: execguardDoc{
			Action: action, ImageDigest: c.ImageDigest, RuntimeHandler: c.RuntimeHandler, SandboxID: c.SandboxID,
		},
	}
	d.Container.Image = imageOf(c.Image)
	d.Orchestrator = orchestratorOf(c, l.Cluster)
	return d
}

// encodeLine renders a document as one line, with extra members (an
// alert's rule) added.
func encodeLine(d *document, extra string) ([]byte, error) {
	shared, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	event, err := json.Marshal(&d.Event)
	if err != nil {
		return nil, err
	}
	stream, err := json.Marshal(&d.DataStream)
	if err != nil {
		return nil, err
	}
	return escapeControls(appendLine(make([]byte, 0, len(shared)+len(event)+len(stream)+len(extra)+32), event, stream, extra, shared[1:])), nil
}
