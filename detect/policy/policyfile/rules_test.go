package policyfile

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/policy"
)

// A detectionRule selector binds a rule to a response: a match can block.
func TestDetectionRuleBinding(t *testing.T) {
	const src = `process:
  selectors:
    - name: netcat-rule
      detectionRule: [r-nc, "Reverse shell"]
    - name: any-rule
      detectionRule: ["*"]
    - name: ops
      kubernetesNamespace: [ops-*]
  responses:
    - match: [netcat-rule]
      exclude: [ops]
      actions: [alert, block]
    - match: [any-rule]
      actions: [log]
`
	p, err := Parse("policy.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	exec := func(ns string) detect.Facts {
		return detect.Facts{
			Operation: detect.OpExec,
			Process:   detect.Process{Args: []string{"nc", "-e", "/bin/sh"}, Known: true},
			Container: detect.Container{ID: "c1", Name: "app", PodName: "web", PodNamespace: ns},
		}
	}
	tests := []struct {
		name      string
		ns        string
		rules     []string
		selectors string
		block     bool
		log       bool
	}{
		{"no rule matched", "shop", nil, "[]", false, false},
		{"bound rule by id", "shop", []string{"r-nc", "Netcat"}, "[netcat-rule any-rule]", true, true},
		{"bound rule by name", "shop", []string{"r-rs", "Reverse shell"}, "[netcat-rule any-rule]", true, true},
		{"other rule", "shop", []string{"r-x", "Other"}, "[any-rule]", false, true},
		{"excluded namespace", "ops-1", []string{"r-nc", "Netcat"}, "[netcat-rule any-rule ops]", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := exec(tt.ns)
			r := p.EvaluateWithRules(f, time.Now(), tt.rules)
			if fmt.Sprint(r.Selectors) != tt.selectors || r.Block != tt.block || r.Log != tt.log {
				t.Fatalf("result %+v; want selectors %s, block %v, log %v", r, tt.selectors, tt.block, tt.log)
			}
			d := policy.Decision(f, r, p.Revision())
			if tt.block && !strings.Contains(d.Reason, `exec into container "app" of pod shop/web blocked by policy (selector netcat-rule)`) {
				t.Errorf("reason %q", d.Reason)
			}
		})
	}
	if r := p.Evaluate(exec("shop"), time.Now()); r.Block || len(r.Selectors) != 0 {
		t.Errorf("Evaluate without rules: %+v", r)
	}
	if _, err := Parse("bad.yaml", []byte("process:\n  selectors:\n    - name: r\n      detectionRule: [\"\"]\n  responses:\n    - match: [r]\n      actions: [log]\n")); err == nil || !strings.Contains(err.Error(), "empty rule") {
		t.Errorf("empty detectionRule: %v", err)
	}
}
