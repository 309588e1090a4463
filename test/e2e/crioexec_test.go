//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/execguard/execguard/test/crionode"
)

// TestCRIOExec runs crictl's exec flavours against a real CRI-O whose
// handlers run the wrapper: a streaming exec, which CRI-O runs itself on a
// pty it allocated or on pipes, and ExecSync, which it runs through conmon.
func TestCRIOExec(t *testing.T) {
	e := newCRIOEnv(t, "alert")
	_, ctr := e.startPod(crionode.Pod{Name: "web", Namespace: "shop"}, "app")

	t.Run("exec -it alerts", func(t *testing.T) {
		mark := e.mark()
		// The short sleep keeps the session open until CRI-O's stream has
		// copied the output: a process that exits at once can end the
		// streaming session before its last output reaches crictl.
		out, err := e.crio.ExecTTY(ctr, "sh", "-c", "tty && echo interactive-ok && sleep 0.5")
		if err != nil {
			t.Fatalf("crictl exec -it: %v\n%s", err, out)
		}
		if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "interactive-ok") {
			t.Fatalf("crictl exec -it did not run on a terminal; output:\n%s", out)
		}
		docs := e.since(mark)
		ev := onlyExec(t, docs, ctr)
		checkCommon(t, "exec event", ev)
		checkCRIOPod(t, "exec event", ev, "web", "shop", "app")
		check(t, "exec event", ev, []expectation{
			{"event.type", []string{"start"}},
			{"process.interactive", true},
			{"process.args", []string{"sh", "-c", "tty && echo interactive-ok && sleep 0.5"}},
			{"execguard.caller", "crio"},
			{"execguard.exec_kind", "stream"},
			{"container.runtime", "runc"},
		})
		alerts := filter(docs, "alert", "exec", ctr)
		if len(alerts) != 1 {
			t.Fatalf("got %d alerts, want 1:\n%v", len(alerts), docs)
		}
		check(t, "alert", alerts[0], []expectation{{"rule.id", ruleID}, {"process.interactive", true}})
		checkRules(t, docs, ctr, true, true)
	})

	t.Run("exec without a terminal: no alert", func(t *testing.T) {
		mark := e.mark()
		out, err := e.crio.Exec(ctr, "id")
		if err != nil || !strings.Contains(out, "uid=0(root)") {
			t.Fatalf("crictl exec id: %v, printed %q", err, out)
		}
		docs := e.since(mark)
		ev := onlyExec(t, docs, ctr)
		checkCRIOPod(t, "exec event", ev, "web", "shop", "app")
		check(t, "exec event", ev, []expectation{
			{"process.interactive", false},
			{"process.args", []string{"id"}},
			{"execguard.caller", "crio"},
			{"execguard.exec_kind", "stream"},
		})
		if alerts := kinds(docs, "alert"); len(alerts) != 0 {
			t.Fatalf("crictl exec raised %d alerts:\n%v", len(alerts), alerts)
		}
		checkRules(t, docs, ctr, false, false)
	})

	t.Run("exec -i with stdin: recorded, no terminal", func(t *testing.T) {
		mark := e.mark()
		out, err := e.crio.ExecStdin(ctr, "echo from-stdin\n", "sh")
		if err != nil || strings.TrimSpace(out) != "from-stdin" {
			t.Fatalf("crictl exec -i: %v, printed %q", err, out)
		}
		ev := onlyExec(t, e.since(mark), ctr)
		check(t, "exec -i event", ev, []expectation{
			{"event.type", []string{"start"}},
			{"process.interactive", false},
			{"process.args", []string{"sh"}},
			{"execguard.caller", "crio"},
			{"execguard.exec_kind", "stream"},
		})
	})

	t.Run("exec -s runs through conmon as ExecSync", func(t *testing.T) {
		mark := e.mark()
		out, err := e.crio.ExecSync(ctr, "echo", "sync-ok")
		if err != nil || strings.TrimSpace(out) != "sync-ok" {
			t.Fatalf("crictl exec -s: %v, printed %q", err, out)
		}
		docs := e.since(mark)
		ev := onlyExec(t, docs, ctr)
		checkCRIOPod(t, "ExecSync event", ev, "web", "shop", "app")
		check(t, "ExecSync event", ev, []expectation{
			{"process.interactive", false},
			{"execguard.caller", "conmon"},
			{"execguard.exec_kind", "sync"},
		})
		if _, ok := ev.get("execguard.terminal_requested"); ok {
			t.Errorf("ExecSync on a container without a terminal: terminal_requested set in %s", ev)
		}
		if len(kinds(docs, "alert")) != 0 {
			t.Errorf("ExecSync raised an alert")
		}
	})

	// A tty container: its init is an interactive entry leader; an ExecSync
	// on it (a probe) gets a terminal from conmon, and is still never
	// interactive, not even in block mode.
	t.Run("tty container start alerts, ExecSync on it never interactive", func(t *testing.T) {
		podID, err := e.crio.RunPod("debug", "ops")
		if err != nil {
			t.Fatal(err)
		}
		mark := e.mark()
		console, err := e.crio.CreateContainer(podID, "console", true, "sh")
		if err != nil {
			t.Fatal(err)
		}
		docs := e.since(mark)
		starts := filter(docs, "event", "container-start", console)
		if len(starts) != 1 {
			t.Fatalf("got %d container-start events for the tty container, want 1:\n%v", len(starts), docs)
		}
		checkCommon(t, "container-start", starts[0])
		checkCRIOPod(t, "container-start", starts[0], "debug", "ops", "console")
		check(t, "container-start", starts[0], []expectation{
			{"process.interactive", true}, {"process.args", []string{"sh"}}, {"execguard.caller", "conmon"},
		})
		if alerts := filter(docs, "alert", "container-start", console); len(alerts) != 1 {
			t.Fatalf("got %d alerts for the tty container start, want 1:\n%v", len(alerts), docs)
		}

		mark = e.mark()
		plain, err := e.crio.CreateContainer(podID, "sidecar", false, "sleep", "3600")
		if err != nil {
			t.Fatal(err)
		}
		docs = e.since(mark)
		starts = filter(docs, "event", "container-start", plain)
		if len(starts) != 1 {
			t.Fatalf("got %d container-start events for the plain container, want 1:\n%v", len(starts), docs)
		}
		check(t, "container-start", starts[0], []expectation{{"process.interactive", false}})
		if alerts := kinds(docs, "alert"); len(alerts) != 0 {
			t.Fatalf("plain container start raised %d alerts:\n%v", len(alerts), alerts)
		}

		e.setCRIOAction("block")
		defer e.setCRIOAction("alert")
		mark = e.mark()
		out, err := e.crio.ExecSync(console, "sh", "-c", "echo probe-ok")
		if err != nil || !strings.Contains(out, "probe-ok") {
			t.Fatalf("crictl exec -s on the tty container in block mode: %v, printed %q", err, out)
		}
		docs = e.since(mark)
		ev := onlyExec(t, docs, console)
		check(t, "ExecSync on a tty container", ev, []expectation{
			{"event.type", []string{"start"}},
			{"process.interactive", false},
			{"execguard.caller", "conmon"},
			{"execguard.exec_kind", "sync"},
			{"execguard.terminal_requested", true},
		})
		if len(kinds(docs, "alert")) != 0 {
			t.Errorf("ExecSync on a tty container raised an alert")
		}
	})

	t.Run("block mode: the user sees one line, nothing runs", func(t *testing.T) {
		e.setCRIOAction("block")
		defer e.setCRIOAction("alert")
		mark := e.mark()
		out, err := e.crio.ExecTTY(ctr, "sh", "-c", "touch /tmp/blocked-marker; echo marker-written")
		if err == nil {
			t.Fatalf("crictl exec -it succeeded in block mode:\n%s", out)
		}
		want := "execguard: interactive exec into container \"app\" of pod shop/web blocked by policy\r\n" +
			"execing command in container " + ctr + ": command terminated with exit code 1\r\n"
		if got := dropStreamResetNoise(out); got != want {
			t.Errorf("the terminal showed\n%q\nwant\n%q", got, want)
		}
		docs := e.since(mark)
		ev := onlyExec(t, docs, ctr)
		checkCRIOPod(t, "denied event", ev, "web", "shop", "app")
		check(t, "denied event", ev, []expectation{
			{"event.type", []string{"denied"}},
			{"event.outcome", "failure"},
			{"process.interactive", true},
		})
		if alerts := filter(docs, "alert", "exec", ctr); len(alerts) != 1 {
			t.Errorf("got %d alerts for the refused exec, want 1", len(alerts))
		}
		out, err = e.crio.Exec(ctr, "sh", "-c", "if test -e /tmp/blocked-marker; then echo present; else echo absent; fi")
		if err != nil || strings.TrimSpace(out) != "absent" {
			t.Fatalf("marker of the refused exec: %v, %q, want absent", err, out)
		}
	})

	t.Run("50 concurrent execs, one event each", func(t *testing.T) {
		const n = 50
		mark := e.mark()
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				want := fmt.Sprintf("exec-%d", i)
				out, err := e.crio.Exec(ctr, "echo", want)
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
			if len(args) != 2 || args[0] != "echo" || seen[args[1]] {
				t.Errorf("exec event args %q (seen before: %v)", args, len(args) == 2 && seen[args[1]])
				continue
			}
			seen[args[1]] = true
		}
		if len(seen) != n {
			t.Errorf("%d distinct execs recorded, want %d", len(seen), n)
		}
	})
}

// dropStreamResetNoise removes the line crictl's streaming client logs when
// it still writes (a terminal size) to an exec stream CRI-O has closed: a
// race in crictl, not part of the refusal.
func dropStreamResetNoise(s string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if strings.Contains(l, `"Unhandled Error" err="write tcp `) &&
			(strings.Contains(l, "connection reset by peer") || strings.Contains(l, "broken pipe")) {
			continue
		}
		b.WriteString(l)
	}
	return b.String()
}

// TestCRIOCrunHandler: a pod on the crun handler runs its calls through the
// wrapper standing in for crun, which executes the real crun. Debian 12's
// crun 1.8.1 refuses CRI-O 1.36's bundles (ociVersion 1.3.0: "unknown
// version specified"); then the test checks that the refusal is crun's,
// passed through unchanged, and that the wrapper recorded the call as crun's.
func TestCRIOCrunHandler(t *testing.T) {
	e := newCRIOEnv(t, "alert")
	podID, err := e.crio.RunPodWith(crionode.Pod{Name: "fast", Namespace: "edge", Handler: "crun"})
	if err != nil {
		t.Fatal(err)
	}
	mark := e.mark()
	ctr, err := e.crio.CreateContainer(podID, "app", false, "sleep", "3600")
	if err != nil {
		if !strings.Contains(err.Error(), "unknown version specified") {
			t.Fatalf("create on crun: %v", err)
		}
		t.Logf("this crun cannot run CRI-O %s's bundles: %v", e.crio.Version, err)
		var creates []doc
		for _, d := range e.since(mark) {
			if actionOf(d) == "container-start" && d.str("container.name") == "app" {
				creates = append(creates, d)
			}
		}
		if len(creates) != 1 {
			t.Fatalf("got %d container-start events for the crun container, want 1", len(creates))
		}
		checkCRIOPod(t, "container-start on crun", creates[0], "fast", "edge", "app")
		check(t, "container-start on crun", creates[0], []expectation{
			{"container.runtime", "crun"},
			{"execguard.caller", "conmon"},
			{"execguard.subcommand", "create"},
			{"event.type", []string{"start"}},
		})
		return
	}

	starts := filter(e.since(mark), "event", "container-start", ctr)
	if len(starts) != 1 {
		t.Fatalf("got %d container-start events for the crun container, want 1", len(starts))
	}
	check(t, "container-start", starts[0], []expectation{{"container.runtime", "crun"}, {"execguard.caller", "conmon"}})
	mark = e.mark()
	out, err := e.crio.ExecTTY(ctr, "sh", "-c", "tty && echo crun-ok")
	if err != nil || !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "crun-ok") {
		t.Fatalf("crictl exec -it on crun: %v\n%s", err, out)
	}
	docs := e.since(mark)
	ev := onlyExec(t, docs, ctr)
	checkCRIOPod(t, "exec on crun", ev, "fast", "edge", "app")
	check(t, "exec on crun", ev, []expectation{
		{"container.runtime", "crun"},
		{"process.interactive", true},
		{"execguard.caller", "crio"},
	})
	if len(filter(docs, "alert", "exec", ctr)) != 1 {
		t.Errorf("want one alert for crictl exec -it on crun")
	}
	if _, err := crunState(e.crio.RuntimeRoot("crun"), ctr); err != nil {
		t.Errorf("crun state of %s: %v", ctr, err)
	}
}
