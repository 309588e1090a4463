//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/execguard/execguard/detect/rules"
	"github.com/execguard/execguard/test/crionode"
)

// Elastic's rules kept as test data, and the ids of those that run.
const (
	elasticRulesDir = "detect/rules/testdata/cloud_defend"
	ruleExecInto    = "420e5bb4-93bf-40a3-8f4a-4cc1af90eca1"
	ruleTools       = "b84264aa-37a3-49f8-8bbc-60acbe9d4f86"
	ruleNetwork     = "1a289854-5b78-49fe-9440-8a8096b1ab50"
	ruleInnerShell  = "8d3d0794-c776-476b-8674-ee2e685f6470"
)

// ruleNode is what the scenario needs of a node: containerd's and CRI-O's.
type ruleNode interface {
	RunPod(name, namespace string) (string, error)
	CreateContainer(podID, name string, tty bool, cmd ...string) (string, error)
	Exec(ctrID string, cmd ...string) (string, error)
	ExecTTY(ctrID string, cmd ...string) (string, error)
}

// TestElasticRulesOnce runs Elastic's cloud_defend rules that can fire at
// the runtime, with execguard's EQL engine, over the process stream of a
// real node's events (what their index pattern logs-cloud_defend.process*
// reads): each fires exactly once per exec it describes, and never on an
// alert, which is filed in cloud_defend.alerts.
func TestElasticRulesOnce(t *testing.T) {
	for _, fr := range fronts() {
		t.Run("containerd-"+string(fr), func(t *testing.T) {
			e := newFrontEnv(t, "alert", fr)
			elasticRulesOnce(t, e, e.node, 0)
		})
	}
	t.Run("crio", func(t *testing.T) {
		e := newCRIOEnv(t, "alert")
		// CRI-O's streaming session can end before a process that exits at
		// once has its output copied; a short sleep keeps it open.
		elasticRulesOnce(t, e.env, e.crio, 1)
	})
}

var _ ruleNode = (*crionode.Node)(nil)

func elasticRulesOnce(t *testing.T, e *env, n ruleNode, hold int) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.LoadDir(filepath.Join(root, elasticRulesDir))
	if err != nil {
		t.Fatalf("load Elastic's rules: %v", err)
	}
	if len(set.Rules) != 4 {
		t.Fatalf("%d of Elastic's rules run, want 4", len(set.Rules))
	}
	keep := ""
	if hold > 0 {
		keep = fmt.Sprintf("; sleep %d", hold)
	}

	podID, err := n.RunPod("web", "shop")
	if err != nil {
		t.Fatal(err)
	}
	app, err := n.CreateContainer(podID, "app", false, "sleep", "3600")
	if err != nil {
		t.Fatal(err)
	}
	mark := e.mark()
	if out, err := n.ExecTTY(app, "sh", "-i", "-c", "echo interactive-ok"+keep); err != nil || !strings.Contains(out, "interactive-ok") {
		t.Fatalf("crictl exec -it sh -i: %v\n%s", err, out)
	}
	if out, err := n.Exec(app, "id"); err != nil || !strings.Contains(out, "uid=0") {
		t.Fatalf("crictl exec id: %v\n%s", err, out)
	}
	if out, err := n.Exec(app, "busybox", "which", "sh"); err != nil || strings.TrimSpace(out) != "/bin/sh" {
		t.Fatalf("crictl exec busybox which sh: %v\n%s", err, out)
	}
	// nc -h prints its usage and exits 1: the exec ran all the same.
	n.Exec(app, "busybox", "nc", "-h")
	if _, err := n.CreateContainer(podID, "console", true, "sh"); err != nil {
		t.Fatal(err)
	}
	docs := e.since(mark)

	// What each rule matches in the process stream, an exec per line.
	got := map[string][]string{}
	var process, alerts []doc
	for _, d := range docs {
		switch d.str("data_stream.dataset") {
		case "cloud_defend.process":
			process = append(process, d)
		case "cloud_defend.alerts":
			alerts = append(alerts, d)
		default:
			t.Errorf("document in dataset %q:\n%v", d.str("data_stream.dataset"), d)
		}
		if d.str("event.dataset") != d.str("data_stream.dataset") {
			t.Errorf("event.dataset %q, data_stream.dataset %q:\n%v", d.str("event.dataset"), d.str("data_stream.dataset"), d)
		}
	}
	for _, d := range process {
		if d.str("event.kind") != "event" {
			t.Errorf("%s document in the process stream:\n%v", d.str("event.kind"), d)
		}
		for _, r := range set.Match(map[string]any(d)) {
			got[r.ID] = append(got[r.ID], describeExec(d))
		}
	}
	want := map[string][]string{
		ruleExecInto: {
			"exec app: sh -i -c echo interactive-ok" + keep,
			"exec app: busybox which sh",
			"exec app: busybox nc -h",
			"container-start console: sh",
		},
		ruleTools:   {"exec app: busybox which sh"},
		ruleNetwork: {"exec app: busybox nc -h"},
		// The inner-shell rule reads same_as_process false: a shell the
		// session's leader started, which the runtime never sees.
		ruleInnerShell: nil,
	}
	for _, id := range []string{ruleExecInto, ruleTools, ruleNetwork, ruleInnerShell} {
		sort.Strings(got[id])
		sort.Strings(want[id])
		if fmt.Sprint(got[id]) != fmt.Sprint(want[id]) {
			t.Errorf("rule %s matches in the process stream:\n got %q\nwant %q", id, got[id], want[id])
		}
	}

	// The seed rule's alerts: one per interactive entry leader, in the
	// alerts stream, where the process rules do not look. Each would match
	// the exec rule again if it were filed with the events.
	var alerted []string
	for _, a := range alerts {
		if a.str("event.kind") != "alert" {
			t.Errorf("%s document in the alerts stream:\n%v", a.str("event.kind"), a)
		}
		alerted = append(alerted, a.str("rule.id")+" "+describeExec(a))
		matchedAgain := false
		for _, r := range set.Match(map[string]any(a)) {
			matchedAgain = matchedAgain || r.ID == ruleExecInto
		}
		if !matchedAgain {
			t.Errorf("the alert does not carry its exec's fields (the exec rule does not match it):\n%v", a)
		}
	}
	sort.Strings(alerted)
	wantAlerts := []string{
		ruleID + " container-start console: sh",
		ruleID + " exec app: sh -i -c echo interactive-ok" + keep,
	}
	if fmt.Sprint(alerted) != fmt.Sprint(wantAlerts) {
		t.Errorf("alerts:\n got %q\nwant %q", alerted, wantAlerts)
	}
}

// describeExec names a document's process: action, container and command.
func describeExec(d doc) string {
	return fmt.Sprintf("%s %s: %s", actionOf(d), d.str("container.name"), strings.Join(d.strs("process.args"), " "))
}
