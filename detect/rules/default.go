package rules

import (
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/eql"
)

// The built-in rules are default/*.toml. The wrapper reads them on every
// exec, in a fresh process, where decoding TOML costs more than the rules
// are worth; so they are also written out here, and a test holds the two
// to each other (as policy.Default is to default.yaml).
func builtin() []Rule {
	threat := []detect.Threat{{
		Framework: "MITRE ATT&CK",
		Tactic:    detect.ThreatRef{ID: "TA0002", Name: "Execution", Reference: "https://attack.mitre.org/tactics/TA0002/"},
		Techniques: []detect.Technique{
			{
				ThreatRef:     detect.ThreatRef{ID: "T1059", Name: "Command and Scripting Interpreter", Reference: "https://attack.mitre.org/techniques/T1059/"},
				Subtechniques: []detect.ThreatRef{{ID: "T1059.004", Name: "Unix Shell", Reference: "https://attack.mitre.org/techniques/T1059/004/"}},
			},
			{ThreatRef: detect.ThreatRef{ID: "T1609", Name: "Container Administration Command", Reference: "https://attack.mitre.org/techniques/T1609/"}},
		},
	}}
	refs := []string{"https://attack.mitre.org/techniques/T1609/"}
	return []Rule{
		{
			File: "default/interactive_exec_2023.toml", ID: detect.RuleID, Name: detect.RuleName,
			Description: "An interactive (terminal) process was started as the entry leader of a session in a running container, as kubectl\n" +
				"exec -it, crictl exec -it or a debug container do.\n",
			Severity: "high", RiskScore: 73, References: refs, Threat: threat,
			Query: &eql.Query{}, // detect.RuleQuery2023, set by Default
		},
		{
			File: "default/interactive_exec_2026.toml", ID: detect.RuleID, Name: detect.Rule2026Name,
			Description: "A shell (bash, dash, sh, tcsh, csh, zsh, ksh, fish, busybox) was exec'd as the entry leader of a session in a running\n" +
				"container, as kubectl exec, crictl exec or podman exec do.\n",
			Severity: detect.Rule2026Severity, RiskScore: detect.Rule2026RiskScore, References: refs, Threat: threat,
			Query: &eql.Query{}, // detect.RuleQuery2026, set by Default
		},
		{
			File: "default/stdin_shell.toml", ID: detect.StdinShellRuleID, Name: detect.StdinShellRuleName,
			Description: detect.StdinShellRuleDescription + "\n",
			Severity:    detect.RuleSeverity, RiskScore: detect.RuleRiskScore, References: refs, Threat: threat,
			Query: &eql.Query{}, // detect.StdinShellRuleQuery, set by Default
		},
	}
}

// Default is execguard's built-in rules: the seed rule in its 2023 and
// 2026 forms, and the attached-stdin shell rule.
func Default() (*Set, error) {
	rs := builtin()
	set := &Set{}
	for i, src := range []string{detect.RuleQuery2023, detect.RuleQuery2026, detect.StdinShellRuleQuery} {
		// Compiled when execguard was built: a fresh process per exec
		// would otherwise lex and parse them every time.
		q, ok := eql.Builtin(src)
		if !ok {
			var err error
			if q, err = eql.Compile(src); err != nil {
				return set, &Error{File: rs[i].File, Msg: "query: " + err.Error()}
			}
		}
		r := rs[i]
		r.Query = q
		set.Rules = append(set.Rules, &r)
	}
	return set, nil
}
