//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Beside the tests on a real CRI-O (crioexec_test.go), these replay, against
// a real runc container and with the wrapper in runc's place, the exact
// runtime calls CRI-O makes, so that their shape stays pinned whatever CRI-O
// build is at hand (reference: runtime-calls.md): a streaming exec, which CRI-O runs itself in
// the foreground on a pty it allocated, and an ExecSync (probes, crictl exec
// --sync), which it runs through a real conmon started with CRI-O's arguments.

type crio struct {
	t       *testing.T
	e       *env
	wrapper string
	root    string // the runtime root, CRI-O's runtime_root
	id      string
	setAct  func(string)
}

func newCRIO(t *testing.T) *crio {
	for _, bin := range []string{"conmon", "script", realRunc, "/bin/busybox"} {
		if _, err := lookPath(bin); err != nil {
			t.Fatalf("e2e prerequisites missing: %s (run test/setup-node.sh)", bin)
		}
	}
	dir := t.TempDir()
	libexec := filepath.Join(dir, "libexec")
	if err := os.MkdirAll(libexec, 0o755); err != nil {
		t.Fatal(err)
	}
	// CRI-O's runtime_path points at the wrapper installed as runc.
	c := &crio{t: t, wrapper: filepath.Join(libexec, "runc"), root: filepath.Join(dir, "runc-root"),
		id: fmt.Sprintf("%064x", os.Getpid())}
	if err := os.Rename(buildWrapper(t, dir), c.wrapper); err != nil {
		t.Fatal(err)
	}
	c.e = &env{t: t, dir: dir, configPath: filepath.Join(libexec, "execguard.toml"),
		eventLog: filepath.Join(dir, "events", "events.ndjson")}
	c.setAct = func(action string) {
		cfg := fmt.Sprintf("event_log = %q\nstate_dir = %q\ninteractive_action = %q\n[runtimes]\nrunc = %q\n",
			c.e.eventLog, filepath.Join(dir, "state"), action, realRunc)
		if err := os.WriteFile(c.e.configPath, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.setAct("alert")

	// A container as CRI-O would create it: its annotations in config.json.
	bundle := filepath.Join(dir, "overlay-containers", c.id, "userdata")
	if err := os.MkdirAll(filepath.Join(bundle, "rootfs", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "rootfs", "bin", "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"sh", "sleep", "tty", "touch", "test", "echo"} {
		if err := os.Symlink("busybox", filepath.Join(bundle, "rootfs", "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = bundle
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run(realRunc, "spec")
	var spec map[string]any
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	process := spec["process"].(map[string]any)
	process["terminal"] = false
	process["args"] = []string{"sleep", "3600"}
	spec["root"].(map[string]any)["readonly"] = false
	spec["annotations"] = map[string]string{
		"io.kubernetes.pod.name": "web", "io.kubernetes.pod.namespace": "crio-ns", "io.kubernetes.pod.uid": "uid-crio",
		"io.kubernetes.container.name": "app", "io.kubernetes.cri-o.ContainerType": "container",
		"io.kubernetes.cri-o.ImageName": "docker.io/library/busybox:crio", "io.container.manager": "cri-o",
	}
	if data, err = json.Marshal(spec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	// The container's init inherits runc's stdio: /dev/null, not the test's
	// pipes, which it would hold open for its whole life.
	logFile := filepath.Join(dir, "runc-run.log")
	runCmd := exec.Command(realRunc, "--root", c.root, "--log", logFile, "run", "--detach", "--bundle", bundle, c.id)
	if err := runCmd.Run(); err != nil {
		logged, _ := os.ReadFile(logFile)
		t.Fatalf("runc run: %v\n%s", err, logged)
	}
	t.Cleanup(func() {
		exec.Command(realRunc, "--root", c.root, "delete", "--force", c.id).Run()
	})
	return c
}

// processFile writes an exec's process spec where CRI-O writes it
// (/tmp/exec-process-N); CRI-O removes it once the runtime returns.
func (c *crio) processFile(terminal bool, args ...string) string {
	c.t.Helper()
	f, err := os.CreateTemp("", "exec-process-")
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { os.Remove(f.Name()) })
	spec := map[string]any{"terminal": terminal, "user": map[string]int{"uid": 0, "gid": 0}, "args": args,
		"env": []string{"PATH=/bin", "TERM=xterm"}, "cwd": "/"}
	if err := json.NewEncoder(f).Encode(spec); err != nil {
		c.t.Fatal(err)
	}
	f.Close()
	return f.Name()
}

// streamExec runs the runtime as CRI-O's ExecContainer does:
// <runtime_path> --root <runtime_root> exec --process <file> <id>, in the
// foreground, on a pty for a tty exec (under script) and on pipes otherwise.
func (c *crio) streamExec(tty bool, args ...string) (string, error) {
	argv := []string{c.wrapper, "--root", c.root, "exec", "--process", c.processFile(tty, args...), c.id}
	var cmd *exec.Cmd
	if tty {
		cmd = exec.Command("script", "-qec", shellJoin(argv), "/dev/null")
	} else {
		cmd = exec.Command(argv[0], argv[1:]...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.ReplaceAll(out.String(), "\r", ""), err
}

// execSync runs the exec through a real conmon with the arguments CRI-O's
// ExecSyncContainer gives it; tty is the container's terminal setting, which
// CRI-O passes on to the exec (-t, and terminal in the process spec).
func (c *crio) execSync(tty bool, args ...string) (string, error) {
	dir := c.t.TempDir()
	pidFile, err := os.CreateTemp("", "pidfile")
	if err != nil {
		c.t.Fatal(err)
	}
	pidFile.Close()
	os.Remove(pidFile.Name())
	c.t.Cleanup(func() { os.Remove(pidFile.Name()) })
	logFile := filepath.Join(dir, "crio-log-"+c.id)
	argv := []string{"-c", c.id, "-n", "app", "-r", c.wrapper, "-p", pidFile.Name(), "-e", "-l", logFile,
		"--socket-dir-path", dir, "--log-level", "debug", "--sync"}
	if tty {
		argv = append(argv, "-t")
	}
	argv = append(argv, "--exec-process-spec", c.processFile(tty, args...), "--runtime-arg", "--root="+c.root)
	conmon, _ := lookPath("conmon")
	cmd := exec.Command(conmon, argv...)
	cmd.Stdin = nil
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	logged, _ := os.ReadFile(logFile)
	return out.String() + string(logged), err
}

func (c *crio) onlyExec(docs []doc) doc {
	c.t.Helper()
	execs := filter(docs, "event", "exec", c.id)
	if len(execs) != 1 {
		c.t.Fatalf("got %d exec events, want 1:\n%v", len(execs), docs)
	}
	return execs[0]
}

func TestCRIOStreamingExec(t *testing.T) {
	c := newCRIO(t)

	mark := c.e.mark()
	out, err := c.streamExec(true, "sh", "-c", "tty && echo interactive-ok")
	if err != nil || !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "interactive-ok") {
		t.Fatalf("streaming tty exec: %v\n%s", err, out)
	}
	docs := c.e.since(mark)
	ev := c.onlyExec(docs)
	check(t, "kubectl exec -it", ev, []expectation{
		{"process.interactive", true},
		{"execguard.caller", "crio"},
		{"execguard.exec_kind", "stream"},
		{"execguard.manager", "cri-o"},
		{"container.name", "app"},
		{"container.image.name", "docker.io/library/busybox"},
		{"orchestrator.namespace", "crio-ns"},
		{"orchestrator.resource.name", "web"},
		{"orchestrator.resource.id", "uid-crio"},
	})
	if len(kinds(docs, "alert")) != 1 {
		t.Errorf("streaming tty exec: want one alert")
	}
	checkRules(t, docs, c.id, true, true)

	mark = c.e.mark()
	if out, err := c.streamExec(false, "echo", "plain-ok"); err != nil || !strings.Contains(out, "plain-ok") {
		t.Fatalf("streaming exec without a tty: %v\n%s", err, out)
	}
	docs = c.e.since(mark)
	check(t, "kubectl exec", c.onlyExec(docs), []expectation{
		{"process.interactive", false}, {"execguard.exec_kind", "stream"},
	})
	if len(kinds(docs, "alert")) != 0 {
		t.Errorf("streaming exec without a tty raised an alert")
	}

	// Refused: the reason shows in the user's terminal, nothing runs.
	c.setAct("block")
	mark = c.e.mark()
	out, err = c.streamExec(true, "sh", "-c", "touch /tmp/blocked-marker")
	if err == nil {
		t.Fatalf("the streaming tty exec ran in block mode:\n%s", out)
	}
	want := `execguard: interactive exec into container "app" of pod crio-ns/web blocked by policy`
	if !strings.Contains(out, want) {
		t.Errorf("the terminal showed:\n%q\nwant %q", out, want)
	}
	check(t, "refused", c.onlyExec(c.e.since(mark)), []expectation{{"event.type", []string{"denied"}}})
	if out, err := c.streamExec(false, "sh", "-c", "test -e /tmp/blocked-marker && echo present || echo absent"); err != nil || strings.TrimSpace(out) != "absent" {
		t.Errorf("marker check: %v %q", err, out)
	}
}

// TestCRIOExecSyncProbeTrap: on a tty container CRI-O gives every ExecSync
// (probes) a terminal. They are recorded as sync execs, never raise the
// interactive alert and are never blocked.
func TestCRIOExecSyncProbeTrap(t *testing.T) {
	c := newCRIO(t)
	c.setAct("block")
	for _, tty := range []bool{true, false} {
		t.Run(fmt.Sprintf("tty=%v", tty), func(t *testing.T) {
			mark := c.e.mark()
			out, err := c.execSync(tty, "sh", "-c", "echo probe-ok")
			if err != nil || !strings.Contains(out, "probe-ok") {
				t.Fatalf("ExecSync through conmon: %v\n%s", err, out)
			}
			docs := c.e.since(mark)
			check(t, "ExecSync", c.onlyExec(docs), []expectation{
				{"event.type", []string{"start"}},
				{"process.interactive", false},
				{"execguard.caller", "conmon"},
				{"execguard.exec_kind", "sync"},
				{"container.name", "app"},
			})
			// conmon gives the runtime --tty --console-socket when the
			// container has a terminal: requested, nobody at it.
			if got, _ := c.onlyExec(docs).get("execguard.terminal_requested"); (got == true) != tty {
				t.Errorf("execguard.terminal_requested = %v, want it set only for a tty container", got)
			}
			if len(kinds(docs, "alert")) != 0 {
				t.Errorf("a probe raised the interactive alert")
			}
			checkRules(t, docs, c.id, false, true)
		})
	}
}
