//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/execguard/execguard/detect/policy/policyfile"
	"github.com/execguard/execguard/state"
)

// The policy tests configure the wrapper with `policy = "<path>"` and check
// that the policy, not interactive_action, decides.

// nsPolicy refuses interactive execs except in ops-* namespaces and in pods
// labelled debug=true, and logs every exec and container start.
const nsPolicy = `process:
  selectors:
    - name: all
      operation: [exec, containerStart]
    - name: interactive
      operation: [exec]
      sessionLeaderInteractive: true
    - name: ops-maintenance
      kubernetesNamespace: [ops-*]
    - name: debug-pods
      kubernetesPodLabel: ["debug:true"]
  responses:
    - match: [all]
      actions: [log]
    - match: [interactive]
      exclude: [ops-maintenance, debug-pods]
      actions: [alert, block]
`

// alertPolicy only alerts on interactive execs.
const alertPolicy = `process:
  selectors:
    - name: interactive
      operation: [exec]
      sessionLeaderInteractive: true
  responses:
    - match: [interactive]
      actions: [alert]
`

// policyEnv is a node whose wrapper is configured with a policy file. The
// execguard command is built next to the wrapper: the wrapper does not link
// a YAML parser and has that command parse a changed policy
// (policy.HelperParser).
type policyEnv struct {
	*env
	policyPath string
	stateDir   string
}

func newPolicyEnv(t *testing.T, failMode, src string) *policyEnv {
	t.Helper()
	return newPolicyFrontEnv(t, failMode, src, frontWrapper)
}

// newPolicyFrontEnv is newPolicyEnv for either front; the shim parses
// policies itself.
func newPolicyFrontEnv(t *testing.T, failMode, src string, fr front) *policyEnv {
	t.Helper()
	e := newFrontEnv(t, "alert", fr)
	buildCommand(t, "./cmd/execguard", filepath.Join(e.dir, "bin", "execguard"))
	pe := &policyEnv{
		env:        e,
		policyPath: filepath.Join(e.dir, "policy.yaml"),
		stateDir:   filepath.Join(filepath.Dir(e.configPath), "state"),
	}
	pe.writePolicy(src)
	cfg := fmt.Sprintf("event_log = %q\nstate_dir = %q\nfail_mode = %q\npolicy = %q\n\n[runtimes]\nrunc = %q\n",
		e.eventLog, pe.stateDir, failMode, pe.policyPath, realRunc)
	replaceFile(t, e.configPath, cfg)
	return pe
}

// writePolicy replaces the policy file by rename, as an editor or a config
// manager would.
func (pe *policyEnv) writePolicy(src string) {
	pe.t.Helper()
	replaceFile(pe.t, pe.policyPath, src)
}

func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// revision is the policy revision events must carry for src.
func revision(t *testing.T, src string) string {
	t.Helper()
	p, err := policyfile.Parse("policy.yaml", []byte(src))
	if err != nil {
		t.Fatalf("test policy is invalid: %v", err)
	}
	return p.Revision()
}

// execTTY runs an interactive exec that leaves a marker file when it runs,
// and reports whether it was refused by execguard.
func (pe *policyEnv) execTTY(ctr, marker string) (refused bool, out string) {
	pe.t.Helper()
	out, err := pe.node.ExecTTY(ctr, "sh", "-c", "touch /tmp/"+marker+"; echo ran-"+marker)
	refused = err != nil
	// The wrapper's reason comes back through runc's log.
	if refused && (pe.front == frontWrapper && !strings.Contains(out, "OCI runtime exec failed") || !strings.Contains(out, "execguard:")) {
		pe.t.Errorf("exec failed without execguard's reason:\n%s", out)
	}
	if !refused && !strings.Contains(out, "ran-"+marker) {
		pe.t.Errorf("exec succeeded but its command did not run:\n%s", out)
	}
	// The marker says what happened inside the container, whatever the
	// client printed.
	probe, err := pe.node.Exec(ctr, "sh", "-c", "test -e /tmp/"+marker+" && echo present || echo absent")
	if err != nil {
		pe.t.Fatalf("probe exec: %v", err)
	}
	if ran := strings.TrimSpace(probe) == "present"; ran == refused {
		pe.t.Errorf("exec refused=%v but its marker is %s", refused, strings.TrimSpace(probe))
	}
	return refused, out
}

// execEvent returns the one event of kind "event" for the interactive exec
// of execTTY with marker in ctr (not the probe that follows it).
func execEvent(t *testing.T, docs []doc, ctr, marker string) doc {
	t.Helper()
	var found []doc
	for _, d := range filter(docs, "event", "exec", ctr) {
		if strings.Contains(strings.Join(d.strs("process.args"), " "), "echo ran-"+marker) {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		t.Fatalf("got %d exec events for %s in %s, want 1:\n%v", len(found), marker, ctr, docs)
	}
	return found[0]
}

func hasAll(got []string, want ...string) bool {
	set := map[string]bool{}
	for _, s := range got {
		set[s] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}

// The same interactive exec is refused in namespace shop and allowed in the
// excluded namespace ops-tools.
func TestPolicyNamespaceExclusion(t *testing.T) {
	pe := newPolicyEnv(t, "open", nsPolicy)
	rev := revision(t, nsPolicy)
	_, shopCtr := pe.startPod("web", "shop", "app")
	_, opsCtr := pe.startPod("toolbox", "ops-tools", "app")

	mark := pe.mark()
	refused, out := pe.execTTY(shopCtr, "m-shop")
	if !refused {
		t.Fatalf("interactive exec in namespace shop was allowed:\n%s", out)
	}
	if !strings.Contains(out, "blocked by policy") || !strings.Contains(out, "interactive") {
		t.Errorf("refusal does not name the policy and selector:\n%s", out)
	}
	refused, out = pe.execTTY(opsCtr, "m-ops")
	if refused {
		t.Fatalf("interactive exec in excluded namespace ops-tools was refused:\n%s", out)
	}

	docs := pe.since(mark)
	denied := execEvent(t, docs, shopCtr, "m-shop")
	check(t, "refused exec", denied, []expectation{
		{"event.type", []string{"denied"}},
		{"event.outcome", "failure"},
		{"process.interactive", true},
		{"orchestrator.namespace", "shop"},
		{"execguard.policy_revision", rev},
	})
	if sel := denied.strs("cloud_defend.matched_selectors"); !hasAll(sel, "all", "interactive") || hasAll(sel, "ops-maintenance") {
		t.Errorf("refused exec: matched selectors %q, want all and interactive", sel)
	}
	allowed := execEvent(t, docs, opsCtr, "m-ops")
	check(t, "allowed exec", allowed, []expectation{
		{"event.type", []string{"start"}},
		{"event.outcome", "success"},
		{"process.interactive", true},
		{"orchestrator.namespace", "ops-tools"},
		{"execguard.policy_revision", rev},
	})
	if sel := allowed.strs("cloud_defend.matched_selectors"); !hasAll(sel, "all", "interactive", "ops-maintenance") {
		t.Errorf("allowed exec: matched selectors %q, want all, interactive and ops-maintenance", sel)
	}
	if alerts := filter(docs, "alert", "exec", opsCtr); len(alerts) != 0 {
		t.Errorf("the excluded exec raised %d alerts:\n%v", len(alerts), alerts)
	}
	if alerts := filter(docs, "alert", "exec", shopCtr); len(alerts) != 1 {
		t.Errorf("the refused exec raised %d alerts, want 1:\n%v", len(alerts), docs)
	}
}

// A pod label excludes one pod of a namespace. containerd's bundle carries
// no pod labels; the NRI plugin publishes them in the state directory. The
// plugin does not run in this test: the test writes the records it would
// (state.WriteContainer), which is all the wrapper reads.
func TestPolicyPodLabelExclusion(t *testing.T) {
	pe := newPolicyEnv(t, "open", nsPolicy)
	_, plainCtr := pe.startPod("api", "shop", "app")
	_, debugCtr := pe.startPod("api-debug", "shop", "app")
	records := []state.Container{
		{ID: plainCtr, Name: "app", PodName: "api", PodNamespace: "shop", PodLabels: map[string]string{"app": "api", "debug": "false"}},
		{ID: debugCtr, Name: "app", PodName: "api-debug", PodNamespace: "shop", PodLabels: map[string]string{"app": "api", "debug": "true"}},
	}
	for _, r := range records {
		if err := state.WriteContainer(pe.stateDir, r); err != nil {
			t.Fatal(err)
		}
	}

	mark := pe.mark()
	if refused, out := pe.execTTY(plainCtr, "m-plain"); !refused {
		t.Fatalf("interactive exec into the pod without debug=true was allowed:\n%s", out)
	}
	if refused, out := pe.execTTY(debugCtr, "m-debug"); refused {
		t.Fatalf("interactive exec into the pod labelled debug=true was refused:\n%s", out)
	}
	docs := pe.since(mark)
	check(t, "refused exec", execEvent(t, docs, plainCtr, "m-plain"), []expectation{
		{"event.type", []string{"denied"}},
		{"orchestrator.resource.label", map[string]string{"app": "api", "debug": "false"}},
	})
	allowed := execEvent(t, docs, debugCtr, "m-debug")
	check(t, "allowed exec", allowed, []expectation{
		{"event.type", []string{"start"}},
		{"orchestrator.resource.label", map[string]string{"app": "api", "debug": "true"}},
	})
	if sel := allowed.strs("cloud_defend.matched_selectors"); !hasAll(sel, "debug-pods", "interactive") {
		t.Errorf("allowed exec: matched selectors %q, want debug-pods and interactive", sel)
	}
}

// A changed policy applies to the next exec, with no restart; an invalid one
// leaves the last good policy in force and an error event saying why.
func TestPolicyReloadAndLastGood(t *testing.T) {
	for _, fr := range fronts() {
		t.Run(string(fr), func(t *testing.T) { testPolicyReloadAndLastGood(t, fr) })
	}
}

func testPolicyReloadAndLastGood(t *testing.T, fr front) {
	pe := newPolicyFrontEnv(t, "open", alertPolicy, fr)
	_, ctr := pe.startPod("web", "shop", "app")

	if refused, out := pe.execTTY(ctr, "m-1"); refused {
		t.Fatalf("alert-only policy refused the exec:\n%s", out)
	}

	pe.writePolicy(nsPolicy)
	mark := pe.mark()
	if refused, out := pe.execTTY(ctr, "m-2"); !refused {
		t.Fatalf("the new blocking policy did not apply to the next exec:\n%s", out)
	}
	check(t, "exec under the new policy", execEvent(t, pe.since(mark), ctr, "m-2"), []expectation{
		{"execguard.policy_revision", revision(t, nsPolicy)},
	})

	// Invalid: block without alert, and a namespace that is not a list.
	const broken = "process:\n  selectors:\n    - name: interactive\n      kubernetesNamespace: shop\n  responses:\n    - match: [interactive]\n      actions: [block]\n"
	pe.writePolicy(broken)
	mark = pe.mark()
	if refused, out := pe.execTTY(ctr, "m-3"); !refused {
		t.Fatalf("an invalid policy weakened enforcement: the exec ran:\n%s", out)
	}
	docs := pe.since(mark)
	check(t, "exec under the last good policy", execEvent(t, docs, ctr, "m-3"), []expectation{
		{"event.type", []string{"denied"}},
		{"execguard.policy_revision", revision(t, nsPolicy)},
	})
	if !mentions(docs, "policy.yaml:4:") {
		t.Errorf("no event says why the new policy was refused (file and line):\n%v", docs)
	}

	// Fixed again: the fixed policy applies.
	pe.writePolicy(alertPolicy)
	if refused, out := pe.execTTY(ctr, "m-4"); refused {
		t.Fatalf("the fixed policy did not apply:\n%s", out)
	}
}

// With no good policy ever loaded, the fail mode decides: closed refuses
// interactive execs, and non-interactive ones still run.
func TestPolicyInvalidWithoutLastGoodFailsClosed(t *testing.T) {
	for _, fr := range fronts() {
		t.Run(string(fr), func(t *testing.T) { testPolicyInvalidWithoutLastGoodFailsClosed(t, fr) })
	}
}

func testPolicyInvalidWithoutLastGoodFailsClosed(t *testing.T, fr front) {
	pe := newPolicyFrontEnv(t, "closed", "process:\n  selectors: [\n", fr)
	_, ctr := pe.startPod("web", "shop", "app")
	mark := pe.mark()
	if refused, out := pe.execTTY(ctr, "m-closed"); !refused {
		t.Fatalf("fail mode closed with no valid policy allowed an interactive exec:\n%s", out)
	}
	if !mentions(pe.since(mark), "policy.yaml:") {
		t.Errorf("no event names the invalid policy file")
	}
	if out, err := pe.node.Exec(ctr, "echo", "plain"); err != nil || strings.TrimSpace(out) != "plain" {
		t.Errorf("non-interactive exec: %q, %v", out, err)
	}
}

// mentions reports whether any string in any document contains s.
func mentions(docs []doc, s string) bool {
	var walk func(v any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case string:
			return strings.Contains(x, s)
		case []any:
			for _, y := range x {
				if walk(y) {
					return true
				}
			}
		case map[string]any:
			for _, y := range x {
				if walk(y) {
					return true
				}
			}
		}
		return false
	}
	for _, d := range docs {
		if walk(map[string]any(d)) {
			return true
		}
	}
	return false
}
