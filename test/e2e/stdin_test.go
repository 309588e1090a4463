//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// stdinShellRuleID is the attached-stdin shell rule's id.
const stdinShellRuleID = "33445560-70c1-4ad9-9b9c-7e4eea06fc97"

// stdinShellScript is what the tests type into a shell fed from stdin: its
// output shows the commands ran, and that nothing gave it a terminal.
const stdinShellScript = "echo stdin-shell-ran\ntty || echo no-terminal\n"

// cpArchive is the tar stream kubectl cp sends: one file.
func cpArchive(t *testing.T, name, content string) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(buf.Bytes())
}

// oneDoc returns the one document of kind and action for the container.
func oneDoc(t *testing.T, what string, docs []doc, kind, action, ctr string) doc {
	t.Helper()
	got := filter(docs, kind, action, ctr)
	if len(got) != 1 {
		t.Fatalf("%s: got %d %s documents of action %s for %s, want 1:\n%v", what, len(got), kind, action, ctr, docs)
	}
	return got[0]
}

// checkStdinShell checks the event and the one alert of an attached-stdin
// shell: stdin recorded, process.interactive false, the rule's alert.
func checkStdinShell(t *testing.T, what string, docs []doc, action, ctr, eventType string) {
	t.Helper()
	ev := oneDoc(t, what, docs, "event", action, ctr)
	checkCommon(t, what, ev)
	check(t, what, ev, []expectation{
		{"event.type", []string{eventType}},
		{"process.interactive", false},
		{"execguard.stdin", "attached"},
		{"execguard.stdin_shell", true},
	})
	// A pipe at the wrapper's fd 0, a FIFO path in the shim's request.
	if src := ev.str("execguard.stdin_source"); src != "pipe" && src != "fifo" {
		t.Errorf("%s: execguard.stdin_source = %q, want pipe (wrapper) or fifo (shim)", what, src)
	}
	al := oneDoc(t, what+" alert", docs, "alert", action, ctr)
	check(t, what+" alert", al, []expectation{
		{"rule.id", stdinShellRuleID},
		{"rule.name", "Shell with attached stdin in container"},
		{"kibana.alert.severity", "high"},
		{"event.type", []string{eventType}},
		{"process.interactive", false},
	})
	if n := len(kinds(docs, "alert")); n != 1 {
		t.Errorf("%s: %d alerts, want 1:\n%v", what, n, kinds(docs, "alert"))
	}
}

// The shells without a terminal: crictl exec -i, ctr task exec without
// --tty, and a container created with stdin and attached to. Each is
// alerted on, and works; kubectl cp's tar and a plain exec are not alerted.
func TestStdinShellAlerts(t *testing.T) {
	for _, fr := range fronts() {
		t.Run(string(fr), func(t *testing.T) { stdinShellAlerts(t, fr) })
	}
}

// stdinSource is execguard.stdin_source as the front sees it: fd 0 of the
// runtime call (the wrapper) or the Exec request's stdin (the shim).
func stdinSource(fr front, wrapper string) string {
	if fr == frontShim {
		return map[string]string{"pipe": "fifo", "null": "none"}[wrapper]
	}
	return wrapper
}

func stdinShellAlerts(t *testing.T, fr front) {
	e := newFrontEnv(t, "alert", fr)
	podID, ctr := e.startPod("web-1", "shop", "app")

	for _, tc := range []struct {
		name string
		run  func() (string, error)
	}{
		{"crictl exec -i sh", func() (string, error) {
			return e.node.ExecStdin(ctr, strings.NewReader(stdinShellScript), "sh")
		}},
		{"ctr task exec sh", func() (string, error) {
			return e.node.CtrExecStdin(ctr, "eg-stdin-1", stdinShellScript, "sh")
		}},
		{"crictl exec -i busybox sh -s", func() (string, error) {
			return e.node.ExecStdin(ctr, strings.NewReader(stdinShellScript), "/bin/busybox", "sh", "-s")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark := e.mark()
			out, err := tc.run()
			if err != nil {
				t.Fatalf("%s: %v\n%s", tc.name, err, out)
			}
			if !strings.Contains(out, "stdin-shell-ran") || !strings.Contains(out, "no-terminal") {
				t.Fatalf("the shell did not run the commands from stdin; output:\n%s", out)
			}
			checkStdinShell(t, tc.name, e.since(mark), "exec", ctr, "start")
		})
	}

	t.Run("container with stdin, crictl attach -i", func(t *testing.T) {
		mark := e.mark()
		console, err := e.node.CreateStdinContainer(podID, "console", "sh")
		if err != nil {
			t.Fatal(err)
		}
		checkStdinShell(t, "container start", e.since(mark), "container-start", console, "start")
		out, err := e.node.AttachStdin(console, stdinShellScript+"exit\n", 60*time.Second)
		if err != nil {
			t.Fatalf("crictl attach -i: %v\n%s", err, out)
		}
		// crictl attach may end its output stream with its input; the
		// container's log keeps everything the shell wrote.
		var logs string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if logs, err = e.node.Crictl("logs", console); err == nil && strings.Contains(logs, "no-terminal") {
				break
			}
		}
		if !strings.Contains(out+logs, "stdin-shell-ran") || !strings.Contains(out+logs, "no-terminal") {
			t.Fatalf("crictl attach -i: the container's shell did not run the commands; attach output:\n%s\ncontainer log:\n%s", out, logs)
		}
	})

	t.Run("kubectl cp: crictl exec -i tar xf -", func(t *testing.T) {
		mark := e.mark()
		out, err := e.node.ExecStdin(ctr, cpArchive(t, "copied.txt", "copied-by-tar"), "tar", "xf", "-", "-C", "/tmp")
		if err != nil {
			t.Fatalf("tar xf -: %v\n%s", err, out)
		}
		docs := e.since(mark)
		ev := oneDoc(t, "tar", docs, "event", "exec", ctr)
		check(t, "tar", ev, []expectation{
			{"execguard.stdin", "attached"},
			{"execguard.stdin_source", stdinSource(fr, "pipe")},
			{"process.interactive", false},
			{"process.args", []string{"tar", "xf", "-", "-C", "/tmp"}},
		})
		if _, ok := ev.get("execguard.stdin_shell"); ok {
			t.Errorf("tar marked as an attached-stdin shell: %s", ev)
		}
		if alerts := kinds(docs, "alert"); len(alerts) != 0 {
			t.Errorf("tar xf - raised %d alerts:\n%v", len(alerts), alerts)
		}
		if out, err := e.node.Exec(ctr, "cat", "/tmp/copied.txt"); err != nil || out != "copied-by-tar" {
			t.Errorf("the copied file: %q, %v", out, err)
		}
	})

	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprintf("crictl exec without stdin, sync=%v", sync), func(t *testing.T) {
			mark := e.mark()
			args := []string{"exec", ctr, "sh"}
			if sync {
				args = []string{"exec", "--sync", ctr, "sh"}
			}
			if out, err := e.node.Crictl(args...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			docs := e.since(mark)
			check(t, "plain exec", oneDoc(t, "plain exec", docs, "event", "exec", ctr), []expectation{
				{"execguard.stdin", "none"},
				{"execguard.stdin_source", stdinSource(fr, "null")},
				{"process.args", []string{"sh"}},
			})
			if alerts := kinds(docs, "alert"); len(alerts) != 0 {
				t.Errorf("sh without stdin raised %d alerts", len(alerts))
			}
		})
	}

	t.Run("ctr task exec from /dev/null", func(t *testing.T) {
		// ctr attaches stdin whatever its own is: the runtime still gets a pipe.
		mark := e.mark()
		if out, err := e.node.Ctr("task", "exec", "--fifo-dir", e.node.FIFODir, "--exec-id", "eg-null-1", ctr, "id"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		docs := e.since(mark)
		check(t, "ctr task exec id", oneDoc(t, "ctr task exec id", docs, "event", "exec", ctr), []expectation{
			{"execguard.stdin", "attached"}, {"execguard.stdin_source", stdinSource(fr, "pipe")},
		})
		if alerts := kinds(docs, "alert"); len(alerts) != 0 {
			t.Errorf("id raised %d alerts", len(alerts))
		}
	})

	t.Run("crictl exec -it", func(t *testing.T) {
		mark := e.mark()
		if out, err := e.node.ExecTTY(ctr, "sh", "-c", "true"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		ev := oneDoc(t, "tty exec", e.since(mark), "event", "exec", ctr)
		check(t, "tty exec", ev, []expectation{{"execguard.stdin", "terminal"}, {"process.interactive", true}})
	})
}

// Under interactive_action = "block" every shell is refused, with or
// without a terminal, and the user reads why; the commands did not run.
// kubectl cp's tar still works.
func TestStdinShellBlocked(t *testing.T) {
	for _, fr := range fronts() {
		t.Run(string(fr), func(t *testing.T) { stdinShellBlocked(t, fr) })
	}
}

func stdinShellBlocked(t *testing.T, fr front) {
	e := newFrontEnv(t, "alert", fr)
	podID, ctr := e.startPod("web-1", "shop", "app")
	e.setAction("block")
	const reason = `execguard: shell with attached stdin in container "app" of pod shop/web-1 blocked by policy`
	const marker = "touch /tmp/stdin-marker\necho marker-written\n"

	for _, tc := range []struct {
		name string
		run  func() (string, error)
	}{
		{"crictl exec -i sh", func() (string, error) {
			return e.node.ExecStdin(ctr, strings.NewReader(marker), "sh")
		}},
		{"ctr task exec sh", func() (string, error) {
			return e.node.CtrExecStdin(ctr, "eg-blocked-1", marker, "sh")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark := e.mark()
			out, err := tc.run()
			if err == nil {
				t.Fatalf("%s succeeded under block:\n%s", tc.name, out)
			}
			if !strings.Contains(err.Error(), reason) {
				t.Errorf("the user saw %q, want the reason %q", err, reason)
			}
			t.Logf("%s refused; the user saw: %v", tc.name, err)
			if strings.Contains(out, "marker-written") {
				t.Errorf("the refused shell ran:\n%s", out)
			}
			checkStdinShell(t, tc.name, e.since(mark), "exec", ctr, "denied")
			ev := oneDoc(t, tc.name, e.since(mark), "event", "exec", ctr)
			check(t, tc.name, ev, []expectation{{"event.outcome", "failure"}, {"execguard.reason", reason}})
		})
	}
	if out, err := e.node.Exec(ctr, "sh", "-c", "test -e /tmp/stdin-marker && echo present || echo absent"); err != nil || strings.TrimSpace(out) != "absent" {
		t.Errorf("marker of the refused shells: %q, %v; want absent", out, err)
	}

	t.Run("container with stdin running sh", func(t *testing.T) {
		mark := e.mark()
		_, err := e.node.CreateStdinContainer(podID, "console", "sh")
		if err == nil {
			t.Fatal("a container with stdin running sh started under block")
		}
		want := `execguard: shell with attached stdin in container "console" of pod shop/web-1 blocked by policy`
		// crictl quotes the runtime's message: its quotes come escaped.
		if !strings.Contains(strings.ReplaceAll(err.Error(), `\`, ""), want) {
			t.Errorf("crictl start said %q, want the reason %q", err, want)
		}
		docs := e.since(mark)
		starts := kinds(docs, "event")
		if len(starts) == 0 {
			t.Fatalf("no event for the refused container start:\n%v", docs)
		}
		ctrID := starts[0].str("container.id")
		checkStdinShell(t, "refused container start", docs, "container-start", ctrID, "denied")
	})

	t.Run("kubectl cp: tar xf - is not refused", func(t *testing.T) {
		mark := e.mark()
		out, err := e.node.ExecStdin(ctr, cpArchive(t, "copied.txt", "copied-under-block"), "tar", "xf", "-", "-C", "/tmp")
		if err != nil {
			t.Fatalf("tar xf - under block: %v\n%s", err, out)
		}
		docs := e.since(mark)
		if out, err := e.node.Exec(ctr, "cat", "/tmp/copied.txt"); err != nil || out != "copied-under-block" {
			t.Errorf("the copied file: %q, %v", out, err)
		}
		check(t, "tar", oneDoc(t, "tar", docs, "event", "exec", ctr), []expectation{
			{"event.type", []string{"start"}}, {"execguard.stdin", "attached"},
		})
		if alerts := kinds(docs, "alert"); len(alerts) != 0 {
			t.Errorf("tar raised %d alerts", len(alerts))
		}
	})
}

// streamExecStdin runs the runtime as CRI-O's ExecContainer does for an
// exec with stdin and no terminal (kubectl exec -i): in the foreground, with
// a pipe as stdin that input is written to.
func (c *crio) streamExecStdin(input string, args ...string) (string, error) {
	argv := []string{c.wrapper, "--root", c.root, "exec", "--process", c.processFile(false, args...), c.id}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(input)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// CRI-O: kubectl exec -i sh (a streaming exec with a stdin pipe) is
// alerted and, under block, refused; an ExecSync's stdin is conmon's
// /dev/null.
func TestCRIOStdinShell(t *testing.T) {
	c := newCRIO(t)
	mark := c.e.mark()
	out, err := c.streamExecStdin(stdinShellScript, "sh")
	if err != nil || !strings.Contains(out, "stdin-shell-ran") || !strings.Contains(out, "no-terminal") {
		t.Fatalf("kubectl exec -i sh: %v\n%s", err, out)
	}
	docs := c.e.since(mark)
	checkStdinShell(t, "kubectl exec -i sh", docs, "exec", c.id, "start")
	check(t, "kubectl exec -i sh", c.onlyExec(docs), []expectation{{"execguard.exec_kind", "stream"}})

	mark = c.e.mark()
	if out, err := c.execSync(false, "sh", "-c", "echo probe-ok"); err != nil || !strings.Contains(out, "probe-ok") {
		t.Fatalf("ExecSync: %v\n%s", err, out)
	}
	check(t, "ExecSync", c.onlyExec(c.e.since(mark)), []expectation{
		{"execguard.stdin", "none"}, {"execguard.stdin_source", "null"}, {"execguard.exec_kind", "sync"},
	})

	c.setAct("block")
	mark = c.e.mark()
	out, err = c.streamExecStdin("touch /tmp/stdin-marker\necho marker-written\n", "sh")
	if err == nil || strings.Contains(out, "marker-written") {
		t.Fatalf("kubectl exec -i sh ran in block mode (%v):\n%s", err, out)
	}
	if want := `execguard: shell with attached stdin in container "app" of pod crio-ns/web blocked by policy`; !strings.Contains(out, want) {
		t.Errorf("the user saw:\n%s\nwant %q", out, want)
	}
	checkStdinShell(t, "kubectl exec -i sh blocked", c.e.since(mark), "exec", c.id, "denied")
	if out, err := c.streamExec(false, "sh", "-c", "test -e /tmp/stdin-marker && echo present || echo absent"); err != nil || strings.TrimSpace(out) != "absent" {
		t.Errorf("marker check: %v %q", err, out)
	}
}
