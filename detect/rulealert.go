package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// RuleAlert is a detection rule (from a rule file) that matched a call's
// event: what the alert it raises carries.
type RuleAlert struct {
	ID          string
	Name        string
	Description string
	Severity    string
	RiskScore   int
	// Category is rule.category ("Execution"); "" leaves it out.
	Category   string
	References []string
	Threat     []Threat
}

// Threat is one ATT&CK mapping of a rule ([[rule.threat]]).
type Threat struct {
	Framework  string
	Tactic     ThreatRef
	Techniques []Technique
}

// ThreatRef names a tactic, technique or subtechnique.
type ThreatRef struct {
	ID, Name, Reference string
}

// Technique is a technique with its subtechniques.
type Technique struct {
	ThreatRef
	Subtechniques []ThreatRef
}

// appendRuleAlerts appends one alert line per rule alert of the decision,
// after the line of event ev. An event raises at most one alert per rule id:
// a rule already alerted for (seed is the id of the alert written before, if
// any) is skipped.
func appendRuleAlerts(buf []byte, ps *parts, r Record, ev eventDoc, stream, members []byte, seed string) ([]byte, error) {
	written := map[string]bool{seed: true}
	for _, ra := range r.Decision.Rules {
		if written[ra.ID] {
			continue
		}
		written[ra.ID] = true
		alert := alertEvent(ev)
		alert.ID = entityID(ev.ID, "alert", ra.ID)
		alert.Severity = ra.RiskScore
		alert.RiskScore = ra.RiskScore
		evJSON, err := ps.marshal(&alert)
		if err != nil {
			return nil, err
		}
		extra, err := ra.members(ps)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", ra.ID, err)
		}
		buf = appendLine(buf, evJSON, stream, extra, members)
	}
	return buf, nil
}

// members renders the rule, threat and kibana members of the rule's alert,
// shaped like the seed rule's (alertMembers).
func (ra RuleAlert) members(ps *parts) (string, error) {
	b, err := ps.marshal(ra.membersDoc())
	if err != nil {
		return "", err
	}
	return string(b[1 : len(b)-1]), nil
}

// ruleMembersDoc is the object whose members RuleAlert.members renders. Its
// types are named (not local) so their JSON tables are generated with the
// document's (typeinfo_gen.go).
type ruleMembersDoc struct {
	Rule   ruleDoc          `json:"rule"`
	Threat *threatDoc       `json:"threat,omitempty"`
	Kibana kibanaMembersDoc `json:"kibana"`
}

type ruleDoc struct {
	ID          string `json:"id"`
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Category    string `json:"category,omitempty"`
	Ruleset     string `json:"ruleset"`
	Reference   string `json:"reference,omitempty"`
}

type threatRefsDoc struct {
	ID        []string `json:"id"`
	Name      []string `json:"name"`
	Reference []string `json:"reference"`
}

// No embedded struct: the tag-walk encoder (marshal) takes only plain
// structs, and encoding/json's first use costs a runtime call dearly.
type techniqueDoc struct {
	ID           []string       `json:"id"`
	Name         []string       `json:"name"`
	Reference    []string       `json:"reference"`
	Subtechnique *threatRefsDoc `json:"subtechnique,omitempty"`
}

type threatDoc struct {
	Framework string        `json:"framework"`
	Tactic    threatRefsDoc `json:"tactic"`
	Technique *techniqueDoc `json:"technique,omitempty"`
}

type kibanaMembersDoc struct {
	Alert kibanaAlertDoc `json:"alert"`
}

type kibanaAlertDoc struct {
	Severity  string             `json:"severity"`
	RiskScore int                `json:"risk_score"`
	Rule      kibanaAlertRuleDoc `json:"rule"`
}

type kibanaAlertRuleDoc struct {
	RuleID string `json:"rule_id"`
	Name   string `json:"name"`
}

// membersDoc is the object whose members members renders.
func (ra RuleAlert) membersDoc() ruleMembersDoc {
	add := func(r *threatRefsDoc, t ThreatRef) {
		r.ID = append(r.ID, t.ID)
		r.Name = append(r.Name, t.Name)
		r.Reference = append(r.Reference, t.Reference)
	}
	var th *threatDoc
	for _, t := range ra.Threat {
		if th == nil {
			th = &threatDoc{Framework: t.Framework}
		}
		add(&th.Tactic, t.Tactic)
		for _, tq := range t.Techniques {
			if th.Technique == nil {
				th.Technique = &techniqueDoc{}
			}
			tech := th.Technique
			tech.ID = append(tech.ID, tq.ID)
			tech.Name = append(tech.Name, tq.Name)
			tech.Reference = append(tech.Reference, tq.Reference)
			for _, s := range tq.Subtechniques {
				if th.Technique.Subtechnique == nil {
					th.Technique.Subtechnique = &threatRefsDoc{}
				}
				add(th.Technique.Subtechnique, s)
			}
		}
	}
	doc := ruleMembersDoc{Threat: th}
	doc.Rule.ID, doc.Rule.UUID, doc.Rule.Name = ra.ID, ra.ID, ra.Name
	doc.Rule.Description = strings.TrimSpace(ra.Description)
	doc.Rule.Category = ra.Category
	doc.Rule.Ruleset = "execguard"
	if len(ra.References) > 0 {
		doc.Rule.Reference = ra.References[0]
	}
	doc.Kibana.Alert.Severity, doc.Kibana.Alert.RiskScore = ra.Severity, ra.RiskScore
	doc.Kibana.Alert.Rule.RuleID, doc.Kibana.Alert.Rule.Name = ra.ID, ra.Name
	return doc
}

// EventDocument is the event line Encode writes for r's call as it stands
// before any decision (no block, no alert, no policy), decoded: the document
// detection rules are evaluated on, exactly as Elasticsearch would see it.
func EventDocument(r Record) (map[string]any, error) {
	r.Decision = Decision{Interactive: InteractiveEntryLeader(r.Facts), StdinShell: StdinShell(r.Facts), Action: ActionLog}
	buf, err := Encode(r)
	if err != nil {
		return nil, err
	}
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		buf = buf[:i]
	}
	var doc map[string]any
	if err := json.Unmarshal(buf, &doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// EventFields reports whether an event for an exec or a container start can
// carry the dotted field name: what a detection rule may read. Pod labels
// (orchestrator.resource.label.*) are any keys.
func EventFields() func(name string) bool {
	full := Record{
		Facts: Facts{
			Operation: OpExec,
			Process:   Process{Args: []string{"/bin/sh", "-c", "id"}, Cwd: "/", Terminal: true, Known: true},
			Stdin:     StdinAttached, StdinSource: "pipe",
			Container: Container{
				ID: "c", Name: "n", Image: "r/i:t", Runtime: "runc", Bundle: "/b", Type: "container",
				SandboxID: "s", Manager: "containerd", PodName: "p", PodNamespace: "ns", PodUID: "u",
				PodLabels: map[string]string{"app": "a"}, ImageDigest: "sha256:0", RuntimeHandler: "runc",
			},
			Caller:     Caller{PID: 1, Name: "shim", Executable: "/shim", Engine: "containerd-shim"},
			ExecID:     "e",
			ExecKind:   ExecStream,
			Subcommand: "exec",
			Cluster:    Cluster{ID: "c", Name: "n"},
			Problems:   []string{"p"},
		},
		Decision: Decision{Interactive: true, Action: ActionAlert, Alert: true, Selectors: []string{"s"}, PolicyRevision: "r", MatchedRules: []string{"r"}},
		Policy:   Policy{FailMode: FailOpen, Err: "e"},
		Host:     Host{Name: "h", ID: "i"},
		Time:     time.Unix(0, 0),
	}
	known := map[string]bool{}
	RuleFields(full).collect(known)
	// RuleFields drops the decision; put its members back.
	for _, f := range []string{"cloud_defend.matched_selectors", "execguard.policy_revision", "execguard.matched_rules", "execguard.truncated", "execguard.stdin_shell", "event.severity", "event.risk_score"} {
		known[f] = true
	}
	return func(name string) bool {
		return known[name] || strings.HasPrefix(name, "orchestrator.resource.label.")
	}
}

func collectFields(v any, prefix string, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			collectFields(c, name, out)
		}
	case []any:
		out[prefix] = true
		for _, c := range x {
			collectFields(c, prefix, out)
		}
	default:
		out[prefix] = true
	}
}
