//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// crictl exec -it: one exec event marked interactive, and one alert.
func TestCrictlExecTTYAlerts(t *testing.T) {
	for _, fr := range fronts() {
		t.Run(string(fr), func(t *testing.T) { crictlExecTTYAlerts(t, fr) })
	}
}

func crictlExecTTYAlerts(t *testing.T, fr front, opts ...envOption) {
	e := newFrontEnv(t, "alert", fr, opts...)
	_, ctr := e.startPod("web", "shop", "app")

	mark := e.mark()
	out, err := e.node.ExecTTY(ctr, "sh", "-c", "tty && echo interactive-ok")
	if err != nil {
		t.Fatalf("crictl exec -it: %v\n%s", err, out)
	}
	if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "interactive-ok") {
		t.Fatalf("crictl exec -it did not run on a terminal; output:\n%s", out)
	}

	docs := e.since(mark)
	execs := filter(docs, "event", "exec", ctr)
	if len(execs) != 1 {
		t.Fatalf("got %d exec events for %s, want 1:\n%v", len(execs), ctr, docs)
	}
	ev := execs[0]
	checkCommon(t, "exec event", ev)
	e.checkFront(t, "exec event", ev)
	checkPod(t, "exec event", ev, "web", "shop", "app")
	check(t, "exec event", ev, []expectation{
		{"event.type", []string{"start"}},
		{"event.outcome", "success"},
		{"process.interactive", true},
		{"process.name", "sh"},
		{"process.args", []string{"sh", "-c", "tty && echo interactive-ok"}},
		{"container.id", ctr},
	})

	alerts := kinds(docs, "alert")
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts, want 1:\n%v", len(alerts), docs)
	}
	al := alerts[0]
	checkCommon(t, "alert", al)
	checkPod(t, "alert", al, "web", "shop", "app")
	check(t, "alert", al, []expectation{
		{"rule.id", ruleID},
		{"event.action", "exec"},
		{"event.type", []string{"start"}},
		{"process.interactive", true},
		{"container.id", ctr},
	})
	// Both versions of Elastic's rule match crictl exec -it <ctr> sh.
	checkRules(t, docs, ctr, true, true)
}

// crictl exec without a terminal: one exec event, not interactive, no alert.
func TestCrictlExecNoTTYNoAlert(t *testing.T) {
	for _, fr := range fronts() {
		t.Run(string(fr), func(t *testing.T) { crictlExecNoTTYNoAlert(t, fr) })
	}
}

func crictlExecNoTTYNoAlert(t *testing.T, fr front, opts ...envOption) {
	e := newFrontEnv(t, "alert", fr, opts...)
	_, ctr := e.startPod("batch", "jobs", "worker")

	mark := e.mark()
	out, err := e.node.Exec(ctr, "id")
	if err != nil {
		t.Fatalf("crictl exec: %v", err)
	}
	if !strings.Contains(out, "uid=0(root)") {
		t.Fatalf("crictl exec id printed %q", out)
	}

	docs := e.since(mark)
	execs := filter(docs, "event", "exec", ctr)
	if len(execs) != 1 {
		t.Fatalf("got %d exec events for %s, want 1:\n%v", len(execs), ctr, docs)
	}
	checkCommon(t, "exec event", execs[0])
	e.checkFront(t, "exec event", execs[0])
	checkPod(t, "exec event", execs[0], "batch", "jobs", "worker")
	check(t, "exec event", execs[0], []expectation{
		{"event.type", []string{"start"}},
		{"event.outcome", "success"},
		{"process.interactive", false},
		{"process.args", []string{"id"}},
	})
	if alerts := kinds(docs, "alert"); len(alerts) != 0 {
		t.Fatalf("non-interactive exec raised %d alerts:\n%v", len(alerts), alerts)
	}
	// Neither version of Elastic's rule matches crictl exec <ctr> id.
	checkRules(t, docs, ctr, false, false)
}

// ctr task exec --tty goes through the containerd API, not CRI: still an alert.
func TestCtrTaskExecTTYAlerts(t *testing.T) {
	for _, fr := range fronts() {
		t.Run(string(fr), func(t *testing.T) { ctrTaskExecTTYAlerts(t, fr) })
	}
}

func ctrTaskExecTTYAlerts(t *testing.T, fr front, opts ...envOption) {
	e := newFrontEnv(t, "alert", fr, opts...)
	_, ctr := e.startPod("api", "prod", "server")

	mark := e.mark()
	out, err := e.node.CtrExecTTY(ctr, "eg-ctr-exec-1", "sh", "-c", "exit 0")
	if err != nil {
		t.Fatalf("ctr task exec --tty: %v\n%s", err, out)
	}

	docs := e.since(mark)
	execs := filter(docs, "event", "exec", ctr)
	if len(execs) != 1 {
		t.Fatalf("got %d exec events for %s, want 1:\n%v", len(execs), ctr, docs)
	}
	checkCommon(t, "exec event", execs[0])
	e.checkFront(t, "exec event", execs[0])
	checkPod(t, "exec event", execs[0], "api", "prod", "server")
	check(t, "exec event", execs[0], []expectation{
		{"event.type", []string{"start"}},
		{"process.interactive", true},
		{"process.args", []string{"sh", "-c", "exit 0"}},
	})
	alerts := filter(docs, "alert", "exec", ctr)
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts for %s, want 1:\n%v", len(alerts), ctr, docs)
	}
	check(t, "alert", alerts[0], []expectation{{"rule.id", ruleID}, {"process.interactive", true}})
}

// A container created with tty: its init is an interactive entry leader
// (kubectl run -it, debug containers); one created without is not.
func TestTTYContainerStartAlerts(t *testing.T) {
	for _, fr := range fronts() {
		t.Run(string(fr), func(t *testing.T) { ttyContainerStartAlerts(t, fr) })
	}
}

func ttyContainerStartAlerts(t *testing.T, fr front, opts ...envOption) {
	e := newFrontEnv(t, "alert", fr, opts...)
	podID, err := e.node.RunPod("debug", "ops")
	if err != nil {
		t.Fatal(err)
	}

	mark := e.mark()
	ttyCtr, err := e.node.CreateContainer(podID, "console", true, "sh")
	if err != nil {
		t.Fatal(err)
	}
	docs := e.since(mark)
	starts := filter(docs, "event", "container-start", ttyCtr)
	if len(starts) != 1 {
		t.Fatalf("got %d container-start events for tty container %s, want 1:\n%v", len(starts), ttyCtr, docs)
	}
	checkCommon(t, "container-start", starts[0])
	e.checkFront(t, "container-start", starts[0])
	checkPod(t, "container-start", starts[0], "debug", "ops", "console")
	check(t, "container-start", starts[0], []expectation{
		{"event.type", []string{"start"}},
		{"process.interactive", true},
		{"process.args", []string{"sh"}},
	})
	alerts := filter(docs, "alert", "container-start", ttyCtr)
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts for tty container %s, want 1:\n%v", len(alerts), ttyCtr, docs)
	}
	check(t, "alert", alerts[0], []expectation{{"rule.id", ruleID}})

	mark = e.mark()
	plainCtr, err := e.node.CreateContainer(podID, "sidecar", false, "sleep", "3600")
	if err != nil {
		t.Fatal(err)
	}
	docs = e.since(mark)
	starts = filter(docs, "event", "container-start", plainCtr)
	if len(starts) != 1 {
		t.Fatalf("got %d container-start events for container %s, want 1:\n%v", len(starts), plainCtr, docs)
	}
	check(t, "container-start", starts[0], []expectation{{"process.interactive", false}})
	if alerts := kinds(docs, "alert"); len(alerts) != 0 {
		t.Fatalf("non-tty container raised %d alerts:\n%v", len(alerts), alerts)
	}
}

// Block mode refuses interactive execs, with the reason where the user sees
// it, and leaves everything else working.
func TestBlockMode(t *testing.T) {
	for _, fr := range fronts() {
		t.Run(string(fr), func(t *testing.T) { blockMode(t, fr) })
	}
}

func blockMode(t *testing.T, fr front, opts ...envOption) {
	e := newFrontEnv(t, "alert", fr, opts...)
	podID, ctr := e.startPod("shell", "blocked", "app")
	e.setAction("block")

	mark := e.mark()
	out, err := e.node.ExecTTY(ctr, "sh", "-c", "touch /tmp/blocked-marker; echo marker-written")
	if err == nil {
		t.Fatalf("crictl exec -it succeeded in block mode:\n%s", out)
	}
	// The wrapper's reason comes back through runc's log; the shim's is
	// the exec request's error.
	want := map[front]string{
		frontWrapper: "OCI runtime exec failed",
		frontShim:    `execguard: interactive exec into container "app" of pod blocked/shell blocked by policy`,
	}[fr]
	if !strings.Contains(out, want) || !strings.Contains(out, "execguard:") || !strings.Contains(out, "blocked") {
		t.Errorf("crictl exec -it output lacks the reason (%q):\n%s", want, out)
	}
	if strings.Contains(out, "marker-written") {
		t.Errorf("the blocked command ran:\n%s", out)
	}

	docs := e.since(mark)
	execs := filter(docs, "event", "exec", ctr)
	if len(execs) != 1 {
		t.Fatalf("got %d exec events for %s, want 1:\n%v", len(execs), ctr, docs)
	}
	checkCommon(t, "denied event", execs[0])
	e.checkFront(t, "denied event", execs[0])
	checkPod(t, "denied event", execs[0], "shell", "blocked", "app")
	check(t, "denied event", execs[0], []expectation{
		{"event.type", []string{"denied"}},
		{"event.outcome", "failure"},
		{"process.interactive", true},
	})
	alerts := filter(docs, "alert", "exec", ctr)
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts for the blocked exec, want 1:\n%v", len(alerts), docs)
	}
	check(t, "alert", alerts[0], []expectation{{"rule.id", ruleID}, {"event.type", []string{"denied"}}})

	// A non-tty exec still runs, and shows that the blocked one did not.
	out, err = e.node.Exec(ctr, "sh", "-c", "if test -e /tmp/blocked-marker; then echo present; else echo absent; fi")
	if err != nil {
		t.Fatalf("non-tty exec in block mode: %v", err)
	}
	if strings.TrimSpace(out) != "absent" {
		t.Fatalf("marker of the blocked exec: %q, want absent", out)
	}

	// Container and pod lifecycle is untouched.
	steps := []struct {
		name string
		run  func() error
	}{
		{"stop container", func() error { _, err := e.node.Crictl("stop", "--timeout", "0", ctr); return err }},
		{"remove container", func() error { _, err := e.node.Crictl("rm", ctr); return err }},
		{"create container in the same pod", func() error {
			id, err := e.node.CreateContainer(podID, "app2", false, "sleep", "3600")
			if err != nil {
				return err
			}
			out, err := e.node.Exec(id, "echo", "still-works")
			if err == nil && strings.TrimSpace(out) != "still-works" {
				err = fmt.Errorf("exec printed %q", out)
			}
			return err
		}},
		{"stop and remove pod", func() error { return e.node.RemovePod(podID) }},
		{"create pod and container", func() error {
			id, err := e.node.RunPod("fresh", "blocked")
			if err != nil {
				return err
			}
			if _, err := e.node.CreateContainer(id, "app", false, "sleep", "3600"); err != nil {
				return err
			}
			return e.node.RemovePod(id)
		}},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s in block mode: %v", s.name, err)
		}
	}
	e.events() // every line still parses
}

// Many execs at once: one complete line each, none lost, none torn.
func TestConcurrentExecs(t *testing.T) {
	for _, fr := range fronts() {
		t.Run(string(fr), func(t *testing.T) { testConcurrentExecs(t, fr) })
	}
}

func testConcurrentExecs(t *testing.T, fr front) {
	const n = 50
	e := newFrontEnv(t, "alert", fr)
	_, ctr := e.startPod("load", "stress", "app")

	mark := e.mark()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf("exec-%d", i)
			out, err := e.node.Exec(ctr, "echo", want)
			if err == nil && strings.TrimSpace(out) != want {
				err = fmt.Errorf("printed %q, want %q", out, want)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("exec %d: %v", i, err)
		}
	}

	execs := filter(e.since(mark), "event", "exec", ctr)
	if len(execs) != n {
		t.Fatalf("got %d exec events, want %d", len(execs), n)
	}
	seen := map[string]bool{}
	for _, d := range execs {
		args := d.strs("process.args")
		if len(args) != 2 || args[0] != "echo" {
			t.Errorf("exec event args %q", args)
			continue
		}
		if seen[args[1]] {
			t.Errorf("exec %s recorded twice", args[1])
		}
		seen[args[1]] = true
		check(t, "exec event", d, []expectation{{"process.interactive", false}})
	}
	for i := range n {
		if !seen[fmt.Sprintf("exec-%d", i)] {
			t.Errorf("no event for exec-%d", i)
		}
	}
}
