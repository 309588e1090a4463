package detect

import (
	"fmt"
	"testing"
)

func TestRuleAlerts(t *testing.T) {
	nc := RuleAlert{
		ID: "r-nc", Name: "Netcat", Description: "nc ran\n", Severity: "medium", RiskScore: 47,
		References: []string{"https://example.org/nc"},
		Threat: []Threat{{Framework: "MITRE ATT&CK", Tactic: ThreatRef{"TA0011", "Command and Control", "https://attack.mitre.org/tactics/TA0011/"},
			Techniques: []Technique{{ThreatRef: ThreatRef{"T1095", "Non-Application Layer Protocol", "https://attack.mitre.org/techniques/T1095/"}}}}},
	}
	seedAgain := RuleAlert{ID: RuleID, Name: "seed again", Severity: "low", RiskScore: 21}
	plain := ttyExec()
	plain.Process.Terminal = false
	tests := []struct {
		name   string
		facts  Facts
		policy Policy
		rules  []RuleAlert
		want   []string // rule.id of each alert line
	}{
		{"rule alert only", plain, Policy{ActionAlert, FailOpen, ""}, []RuleAlert{nc}, []string{"r-nc"}},
		{"one alert per rule id", plain, Policy{ActionAlert, FailOpen, ""}, []RuleAlert{nc, nc}, []string{"r-nc"}},
		{"seed alert and a rule", ttyExec(), Policy{ActionAlert, FailOpen, ""}, []RuleAlert{seedAgain, nc}, []string{RuleID, "r-nc"}},
		{"blocked with a rule", ttyExec(), Policy{ActionBlock, FailOpen, ""}, []RuleAlert{nc}, []string{RuleID, "r-nc"}},
		{"no rule", plain, Policy{ActionAlert, FailOpen, ""}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := record(tt.facts, tt.policy)
			r.Decision.Rules = tt.rules
			r.Decision.MatchedRules = []string{"Netcat"}
			docs := lines(t, r)
			var got []string
			for _, d := range docs[1:] {
				if field(d, "event.kind") != "alert" {
					t.Errorf("line after the event is %v", field(d, "event.kind"))
				}
				got = append(got, fmt.Sprint(field(d, "rule.id")))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("alerts for rules %v, want %v", got, tt.want)
			}
			if m := field(docs[0], "execguard.matched_rules"); fmt.Sprint(m) != "[Netcat]" {
				t.Errorf("execguard.matched_rules = %v", m)
			}
			for _, d := range docs[1:] {
				if field(d, "rule.id") != "r-nc" {
					continue
				}
				for path, want := range map[string]any{
					"rule.name": "Netcat", "rule.description": "nc ran", "rule.reference": "https://example.org/nc",
					"kibana.alert.severity": "medium", "kibana.alert.risk_score": 47.0, "event.risk_score": 47.0,
					"kibana.alert.rule.rule_id": "r-nc", "threat.framework": "MITRE ATT&CK",
					"threat.tactic.id": []any{"TA0011"}, "threat.technique.id": []any{"T1095"},
					"event.type": field(docs[0], "event.type"), "process.args": field(docs[0], "process.args"),
				} {
					if got := field(d, path); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("%s = %v, want %v", path, got, want)
					}
				}
				if field(d, "event.id") == field(docs[0], "event.id") {
					t.Errorf("the rule alert reuses the event's id")
				}
			}
		})
	}
}

func TestEventFields(t *testing.T) {
	known := EventFields()
	for _, f := range []string{"process.name", "process.interactive", "process.entry_leader.same_as_process", "container.id",
		"event.type", "host.os.type", "orchestrator.namespace", "orchestrator.resource.label.app", "container.image.name", "process.parent.name"} {
		if !known(f) {
			t.Errorf("%s is not known", f)
		}
	}
	for _, f := range []string{"process.parent.args", "file.path", "process.ppid", "user.name", "process"} {
		if known(f) {
			t.Errorf("%s is known", f)
		}
	}
}
