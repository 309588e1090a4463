//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// endOf finds the end event paired with the start event st.
func endOf(t *testing.T, docs []doc, st doc) doc {
	t.Helper()
	id := st.str("process.entity_id")
	var found []doc
	for _, d := range docs {
		if d.str("event.action") == "end" && d.str("process.entity_id") == id {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		t.Fatalf("got %d end events for start %s, want 1:\n%v", len(found), id, docs)
	}
	return found[0]
}

func mustGet(d doc, path string) any {
	v, _ := d.get(path)
	return v
}

// checkEnd checks an end event against its start: same container and exec,
// the exit code, the pid, and the run time.
func checkEnd(t *testing.T, what string, end, start doc, exitCode int) {
	t.Helper()
	check(t, what, end, []expectation{
		{"event.kind", "event"},
		{"event.type", []string{"end"}},
		{"agent.name", "execguard-shim"},
		{"container.id", start.str("container.id")},
		{"process.start", start.str("@timestamp")},
		{"process.exit_code", exitCode},
		{"process.args", start.strs("process.args")},
	})
	if x := start.str("execguard.exec_id"); end.str("execguard.exec_id") != x {
		t.Errorf("%s: execguard.exec_id %q, want the start's %q", what, end.str("execguard.exec_id"), x)
	}
	if pid, _ := end.get("process.pid"); pid == nil || pid.(float64) <= 0 {
		t.Errorf("%s: process.pid %v, want the process's pid", what, pid)
	}
	// The shim writes an allowed start once it has the pid.
	endPID, _ := end.get("process.pid")
	for _, path := range []string{"process.pid", "process.entry_leader.pid"} {
		if sp, _ := start.get(path); sp != endPID {
			t.Errorf("%s: the start's %s is %v, want the end's %v", what, path, sp, endPID)
		}
	}
	if d, ok := end.get("event.duration"); !ok || d.(float64) < 0 {
		t.Errorf("%s: event.duration %v, want the run time", what, d)
	}
	if end.str("process.end") == "" {
		t.Errorf("%s: process.end missing", what)
	}
}

// The shim writes an end event for every process it started, with its exit
// code and pid: crictl exec, ctr task exec --tty, and a container's init.
func TestShimEndEvents(t *testing.T) {
	e := newFrontEnv(t, "alert", frontShim)
	podID, ctr := e.startPod("ends", "shop", "app")

	mark := e.mark()
	e.node.Exec(ctr, "sh", "-c", "exit 3") // fails with the exit status
	// It runs a moment, so its terminal is there when Start returns.
	if _, err := e.node.CtrExecTTY(ctr, "eg-end-tty", "sh", "-c", "sleep 0.5; exit 0"); err != nil {
		t.Fatalf("ctr task exec --tty: %v", err)
	}
	docs := e.since(mark)
	execs := filter(docs, "event", "exec", ctr)
	if len(execs) != 2 {
		t.Fatalf("got %d exec events, want 2:\n%v", len(execs), docs)
	}
	checkEnd(t, "crictl exec end", endOf(t, docs, execs[0]), execs[0], 3)
	ttyEnd := endOf(t, docs, execs[1])
	checkEnd(t, "ctr task exec end", ttyEnd, execs[1], 0)
	check(t, "ctr task exec end", ttyEnd, []expectation{{"execguard.exec_id", "eg-end-tty"}, {"process.interactive", true}})
	// Session View shows the terminal: a pseudo-terminal's slave (devpts,
	// majors 136 to 143), read from the started process.
	if major, _ := execs[1].get("process.tty.char_device.major"); major == nil || major.(float64) < 136 || major.(float64) > 143 {
		t.Errorf("ctr task exec --tty start: process.tty.char_device.major %v, want a devpts major", major)
	}
	if _, ok := execs[0].get("process.tty"); ok {
		t.Errorf("crictl exec without a terminal: process.tty %v, want none", mustGet(execs[0], "process.tty"))
	}

	// The init's end: the container's start event pairs with it.
	all := e.events()
	starts := filter(all, "event", "container-start", ctr)
	if len(starts) != 1 {
		t.Fatalf("got %d container-start events for %s, want 1", len(starts), ctr)
	}
	mark = e.mark()
	if _, err := e.node.Crictl("stop", "--timeout", "0", ctr); err != nil {
		t.Fatal(err)
	}
	initEnd := endOf(t, e.since(mark), starts[0])
	check(t, "init end", initEnd, []expectation{{"process.exit_code", 137}, {"process.interactive", false}})
	if sp, _ := starts[0].get("process.pid"); sp == nil || sp != mustGet(initEnd, "process.pid") {
		t.Errorf("container start process.pid %v, want the init's %v", sp, mustGet(initEnd, "process.pid"))
	}
	if err := e.node.RemovePod(podID); err != nil {
		t.Fatal(err)
	}
}

// A refused exec runs nothing: the runc exec never happens, so its command
// leaves no trace, and there is no end event, through CRI or through ctr.
func TestShimRefusedExecRunsNothing(t *testing.T) {
	e := newFrontEnv(t, "alert", frontShim)
	_, ctr := e.startPod("refused", "shop", "app")
	e.setAction("block")

	mark := e.mark()
	out, err := e.node.ExecTTY(ctr, "sh", "-c", "touch /tmp/cri-ran")
	if err == nil || !strings.Contains(out, "blocked by policy") {
		t.Fatalf("crictl exec -it in block mode: %v\n%s", err, out)
	}
	out, err = e.node.CtrExecTTY(ctr, "eg-refused", "sh", "-c", "touch /tmp/ctr-ran")
	if err == nil || !strings.Contains(out, "blocked by policy") {
		t.Fatalf("ctr task exec --tty in block mode: %v\n%s", err, out)
	}
	out, err = e.node.Exec(ctr, "ls", "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "-ran") {
		t.Fatalf("a refused exec ran: /tmp holds %q", out)
	}
	docs := e.since(mark)
	denied := 0
	for _, d := range filter(docs, "event", "exec", ctr) {
		if d.str("event.outcome") == "failure" {
			denied++
		}
	}
	if denied != 2 {
		t.Errorf("got %d denied exec events, want 2:\n%v", denied, docs)
	}
	// Only the ls has an end.
	if ends := filter(docs, "event", "end", ctr); len(ends) != 1 || fmt.Sprint(ends[0].strs("process.args")) != "[ls /tmp]" {
		t.Errorf("end events %v, want the ls's only", ends)
	}
}

// Shims outlive a containerd restart and keep deciding: the same shim
// process records and refuses execs after it.
func TestShimSurvivesContainerdRestart(t *testing.T) {
	e := newFrontEnv(t, "alert", frontShim)
	_, ctr := e.startPod("restart", "shop", "app")
	mark := e.mark()
	if _, err := e.node.Exec(ctr, "true"); err != nil {
		t.Fatal(err)
	}
	before := filter(e.since(mark), "event", "exec", ctr)
	if len(before) != 1 {
		t.Fatalf("got %d exec events before the restart, want 1", len(before))
	}
	shimPID, _ := before[0].get("process.parent.pid")

	if err := e.node.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	mark = e.mark()
	if out, err := e.node.ExecTTY(ctr, "sh", "-c", "echo after-restart"); err != nil || !strings.Contains(out, "after-restart") {
		t.Fatalf("crictl exec -it after the restart: %v\n%s", err, out)
	}
	e.setAction("block")
	if out, err := e.node.ExecTTY(ctr, "sh", "-c", "echo must-not-run"); err == nil || strings.Contains(out, "must-not-run\r\n") {
		t.Fatalf("crictl exec -it in block mode after the restart ran:\n%s", out)
	}
	docs := e.since(mark)
	execs := filter(docs, "event", "exec", ctr)
	if len(execs) != 2 {
		t.Fatalf("got %d exec events after the restart, want 2:\n%v", len(execs), docs)
	}
	for i, want := range []string{"success", "failure"} {
		check(t, "exec after restart", execs[i], []expectation{{"event.outcome", want}, {"process.interactive", true}, {"process.parent.pid", shimPID}})
	}
	checkEnd(t, "end after restart", endOf(t, docs, execs[0]), execs[0], 0)
}

// The size-cap attack: a pod's author pads the container's environment and
// annotations until config.json is over 5 MiB, past the 4 MiB execguard
// once read (the env stays under the 4 MiB containerd's ttrpc allows an
// exec, which copies it). No size decides any more: the padded container's start is read
// whole (it runs, recorded without error), and a padded container that asks
// for a terminal is refused under block like any other. A config whose
// terminal key is ambiguous is refused too.
func TestShimOversizedBundleConfig(t *testing.T) {
	e := newFrontEnv(t, "alert", frontShim)
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := exec.Command("cp", "/bin/busybox", filepath.Join(rootfs, "bin", "busybox")).CombinedOutput(); err != nil {
		t.Fatalf("copy busybox: %v\n%s", err, b)
	}
	specJSON, err := e.node.Ctr("oci", "spec")
	if err != nil {
		t.Fatal(err)
	}
	optsFile := filepath.Join(dir, "runc.toml")
	os.WriteFile(optsFile, []byte(fmt.Sprintf("BinaryName = %q\nRoot = %q\n", realRunc, e.node.RuncRoot)), 0o600)
	shim := filepath.Join(e.dir, "bin", "containerd-shim-execguard-v2")
	// write returns a padded spec file (terminal as given) and, when
	// ambiguous, one whose "terminal" key also appears as "Terminal".
	write := func(name string, terminal, ambiguous bool) string {
		var spec map[string]any
		if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
			t.Fatalf("ctr oci spec: %v", err)
		}
		spec["root"] = map[string]any{"path": rootfs, "readonly": true}
		proc := spec["process"].(map[string]any)
		proc["args"] = []string{"/bin/busybox", "sleep", "3600"}
		proc["terminal"] = terminal
		env, _ := proc["env"].([]any)
		for i := 0; i < 3; i++ {
			env = append(env, fmt.Sprintf("PAD%d=%s", i, strings.Repeat("<", 120000)))
		}
		proc["env"] = env
		spec["annotations"] = map[string]string{"example.com/padding": strings.Repeat("x", 7<<19)}
		b, _ := json.Marshal(spec)
		if ambiguous {
			b = bytes.Replace(b, []byte(`"terminal":false`), []byte(`"terminal":false,"Terminal":true`), 1)
		}
		if len(b) <= 5<<20 {
			t.Fatalf("spec of %d bytes, want over 5 MiB", len(b))
		}
		path := filepath.Join(dir, name+".json")
		os.WriteFile(path, b, 0o600)
		return path
	}
	run := func(id, specFile string) (string, error) {
		t.Cleanup(func() {
			e.node.Ctr("task", "kill", "-s", "KILL", id)
			e.node.Ctr("task", "delete", "--force", id)
			e.node.Ctr("container", "delete", id)
		})
		return e.node.Ctr("run", "-d", "--runtime", shim, "--runtime-config-path", optsFile, "--config", specFile, id)
	}

	// Read whole: it runs, and its start has no error and the real args.
	mark := e.mark()
	const plain = "eg-oversized"
	if out, err := run(plain, write(plain, false, false)); err != nil {
		t.Fatalf("ctr run: %v\n%s", err, out)
	}
	if out, err := e.node.Ctr("task", "exec", "--exec-id", "probe", plain, "/bin/busybox", "echo", "running"); err != nil || strings.TrimSpace(out) != "running" {
		t.Fatalf("exec into the container: %v\n%s", err, out)
	}
	starts := filter(e.since(mark), "event", "container-start", plain)
	if len(starts) != 1 {
		t.Fatalf("got %d container-start events, want 1", len(starts))
	}
	if msg := starts[0].str("error.message"); msg != "" {
		t.Errorf("container-start error.message %q, want none: the padded config is read whole", msg)
	}
	check(t, "container-start", starts[0], []expectation{
		{"event.outcome", "success"},
		{"process.interactive", false},
		{"process.args", []string{"/bin/busybox", "sleep", "3600"}},
	})

	// Under block, the padded one with a terminal, and the ambiguous one,
	// are refused before anything runs.
	e.setAction("block")
	for _, tc := range []struct {
		id                 string
		terminal, ambigous bool
	}{
		{"eg-oversized-tty", true, false},
		{"eg-ambiguous", false, true},
	} {
		mark := e.mark()
		out, err := run(tc.id, write(tc.id, tc.terminal, tc.ambigous))
		if err == nil || !strings.Contains(err.Error()+out, "execguard: interactive container") {
			t.Errorf("%s: ctr run = %v, want refused by execguard:\n%s", tc.id, err, out)
		}
		if ps, _ := e.node.Ctr("task", "ls"); strings.Contains(ps, tc.id+" ") && strings.Contains(ps, "RUNNING") {
			t.Errorf("%s runs:\n%s", tc.id, ps)
		}
		denied := filter(e.since(mark), "alert", "container-start", tc.id)
		if len(denied) != 1 {
			t.Fatalf("%s: %d container-start alerts, want 1", tc.id, len(denied))
		}
		check(t, tc.id, denied[0], []expectation{{"event.type", []string{"denied"}}, {"process.interactive", true}})
	}
}

// An upgrade of the shim binary while shims run: the file is replaced (a
// new inode, as a package manager or execguard install does). The pods'
// running shims keep their old binary and keep deciding; a pod started
// after the upgrade gets a shim of the new binary, which decides too.
func TestShimUpgradeWhileRunning(t *testing.T) {
	e := newFrontEnv(t, "alert", frontShim)
	_, before := e.startPod("old", "shop", "app")
	shimPID := func(ctr string) int {
		t.Helper()
		mark := e.mark()
		if _, err := e.node.ExecTTY(ctr, "sh", "-c", "true"); err != nil {
			t.Fatalf("crictl exec -it into %s: %v", ctr, err)
		}
		execs := filter(e.since(mark), "alert", "exec", ctr)
		if len(execs) != 1 {
			t.Fatalf("got %d exec alerts for %s, want 1", len(execs), ctr)
		}
		check(t, "exec alert", execs[0], []expectation{{"agent.name", "execguard-shim"}})
		pid, ok := execs[0].get("process.parent.pid")
		if !ok {
			t.Fatalf("exec alert without the shim's pid: %v", execs[0])
		}
		return int(pid.(float64))
	}
	oldPID := shimPID(before)

	// The upgrade: a new build renamed over the installed binary.
	shim := filepath.Join(e.dir, "bin", "containerd-shim-execguard-v2")
	next := buildCommand(t, "./cmd/containerd-shim-execguard-v2", filepath.Join(e.dir, "bin", ".containerd-shim-execguard-v2.new"))
	if err := os.Rename(next, shim); err != nil {
		t.Fatal(err)
	}
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", oldPID)); err != nil || !strings.HasSuffix(exe, "(deleted)") {
		t.Fatalf("the running shim's binary after the upgrade: %q, %v; want the replaced file", exe, err)
	}

	// The old pod's shim still decides, under block too.
	if pid := shimPID(before); pid != oldPID {
		t.Errorf("the old pod's exec went through shim %d, want its own %d", pid, oldPID)
	}
	_, after := e.startPod("new", "shop", "app")
	newPID := shimPID(after)
	if newPID == oldPID {
		t.Fatalf("the new pod shares the old pod's shim %d", oldPID)
	}
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", newPID)); err != nil || exe != shim {
		t.Errorf("the new pod's shim runs %q (%v), want the upgraded %s", exe, err, shim)
	}
	e.setAction("block")
	for _, ctr := range []string{before, after} {
		mark := e.mark()
		if out, err := e.node.ExecTTY(ctr, "sh", "-c", "true"); err == nil {
			t.Errorf("crictl exec -it into %s ran under block:\n%s", ctr, out)
		}
		if denied := filter(e.since(mark), "alert", "exec", ctr); len(denied) != 1 {
			t.Errorf("%s: %d denied exec alerts, want 1", ctr, len(denied))
		}
	}
}
