//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Podman runs create and exec through conmon, and start, kill and delete
// itself; the wrapper stands in for runc or crun under their own names.
func TestPodman(t *testing.T) {
	for _, rt := range []struct{ name, real string }{{"runc", realRunc}, {"crun", "/usr/bin/crun"}} {
		t.Run(rt.name, func(t *testing.T) { testPodman(t, rt.name, rt.real) })
	}
}

// podman drives one private Podman store with the wrapper as its runtime.
type podman struct {
	t       *testing.T
	bin     string
	global  []string
	private bool // run in a private mount namespace without the cgroup2 mount (crun)
}

func (p *podman) argv(args ...string) []string {
	argv := append(append([]string{p.bin}, p.global...), args...)
	if !p.private {
		return argv
	}
	// crun 1.8 refuses the hybrid cgroup layout of this machine ("cgroups in
	// hybrid mode not supported, drop all controllers from cgroupv2"); in a
	// private mount namespace without the cgroup2 mount it sees plain v1. An
	// empty tmpfs takes the mount's place, so that what crun writes there
	// goes with the namespace instead of into the host's /sys/fs/cgroup.
	return []string{"unshare", "--mount", "--propagation", "private", "sh", "-c",
		"umount /sys/fs/cgroup/unified && mount -t tmpfs -o size=1m none /sys/fs/cgroup/unified && exec " + shellJoin(argv)}
}

func (p *podman) run(args ...string) (string, error) {
	argv := p.argv(args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (p *podman) must(args ...string) string {
	p.t.Helper()
	out, err := p.run(args...)
	if err != nil {
		p.t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// stdin runs a podman command with input on its stdin (a pipe).
func (p *podman) stdin(input string, args ...string) (string, error) {
	argv := p.argv(args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(input)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// tty runs a podman command on a pseudo-terminal (podman exec -it needs one).
func (p *podman) tty(args ...string) (string, error) {
	return p.ttyCommand(shellJoin(p.argv(args...)))
}

// scriptFile writes a podman command to a shell script at path and returns
// the command line that runs it as argv would: for a command line too long
// for one argument (script's -c, sh's -c take one of at most 128 KiB).
func (p *podman) scriptFile(path string, args ...string) string {
	p.t.Helper()
	body := "exec " + shellJoin(append(append([]string{p.bin}, p.global...), args...)) + "\n"
	line := "sh " + shellJoin([]string{path})
	if p.private {
		body = "umount /sys/fs/cgroup/unified && mount -t tmpfs -o size=1m none /sys/fs/cgroup/unified && " + body
		line = "unshare --mount --propagation private " + line
	}
	if err := os.WriteFile(path, []byte(body), 0o700); err != nil {
		p.t.Fatal(err)
	}
	return line
}

// ttyCommand runs a shell command line on a pseudo-terminal.
func (p *podman) ttyCommand(line string) (string, error) {
	cmd := exec.Command("script", "-qec", line, "/dev/null")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.ReplaceAll(out.String(), "\r", ""), err
}

func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func testPodman(t *testing.T, runtimeName, realRuntime string) {
	for _, bin := range []string{"podman", "conmon", "script", "unshare", realRuntime} {
		if _, err := lookPath(bin); err != nil {
			t.Fatalf("e2e prerequisites missing: %s (run test/setup-node.sh)", bin)
		}
	}
	dir := t.TempDir()
	libexec := filepath.Join(dir, "libexec")
	if err := os.MkdirAll(libexec, 0o755); err != nil {
		t.Fatal(err)
	}
	// The wrapper under the runtime's own name: Podman and conmon-rs choose
	// flags from it (Podman passes --log-format=json to a runtime named crun).
	wrapper := filepath.Join(libexec, runtimeName)
	if err := os.Rename(buildWrapper(t, dir), wrapper); err != nil {
		t.Fatal(err)
	}
	// Podman does not hand its environment to conmon, so the configuration
	// sits beside the wrapper (execguard.toml) rather than in EXECGUARD_CONFIG.
	e := &env{t: t, dir: dir, configPath: filepath.Join(libexec, "execguard.toml"),
		eventLog: filepath.Join(dir, "events", "events.ndjson")}
	setConfig := func(action string) {
		cfg := fmt.Sprintf("event_log = %q\nstate_dir = %q\ninteractive_action = %q\n[runtimes]\n%s = %q\n",
			e.eventLog, filepath.Join(dir, "state"), action, runtimeName, realRuntime)
		if err := os.WriteFile(e.configPath+".tmp", []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(e.configPath+".tmp", e.configPath); err != nil {
			t.Fatal(err)
		}
	}
	setConfig("alert")

	p := &podman{t: t, private: runtimeName == "crun", global: []string{
		"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "runroot"),
		"--tmpdir", filepath.Join(dir, "tmp"), "--cgroup-manager", "cgroupfs", "--events-backend", "file",
		"--runtime", wrapper,
	}}
	p.bin, _ = lookPath("podman")
	t.Cleanup(func() {
		p.run("rm", "--force", "--all", "--time", "0")
		if out, err := p.run("system", "reset", "--force"); err != nil {
			t.Errorf("podman system reset: %v\n%s", err, out)
		}
	})

	rootfs := filepath.Join(dir, "rootfs.tar")
	if err := writeRootfsTar(rootfs); err != nil {
		t.Fatal(err)
	}
	p.must("import", rootfs, "localhost/execguard-e2e:bb")
	name := "c-" + runtimeName
	mark := e.mark()
	// Without CAP_SYS_RESOURCE here, Podman's default rlimits cannot be set.
	runOut := p.must("run", "-d", "--name", name, "--network", "host", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
		"localhost/execguard-e2e:bb", "sleep", "3600")
	fields := strings.Fields(runOut)
	if len(fields) == 0 {
		t.Fatalf("podman run printed no container id")
	}
	ctr := fields[len(fields)-1]

	starts := filter(e.since(mark), "event", "container-start", ctr)
	if len(starts) != 1 {
		t.Fatalf("got %d container-start events for %s, want 1", len(starts), ctr)
	}
	check(t, "container start", starts[0], []expectation{
		{"execguard.caller", "conmon"},
		{"execguard.manager", "libpod"},
		{"container.runtime", runtimeName},
		{"process.interactive", false},
		{"process.args", []string{"sleep", "3600"}},
	})

	// podman exec: recorded, not interactive.
	mark = e.mark()
	if out := p.must("exec", name, "id"); !strings.Contains(out, "uid=0") {
		t.Fatalf("podman exec id printed %q", out)
	}
	docs := e.since(mark)
	execs := filter(docs, "event", "exec", ctr)
	if len(execs) != 1 {
		t.Fatalf("got %d exec events, want 1:\n%v", len(execs), docs)
	}
	check(t, "podman exec", execs[0], []expectation{
		{"process.interactive", false},
		{"execguard.caller", "conmon"},
		{"execguard.exec_kind", "engine"},
		{"container.name", name},
	})
	if len(kinds(docs, "alert")) != 0 {
		t.Errorf("podman exec without a terminal raised an alert")
	}

	// podman exec -it: interactive, alert.
	mark = e.mark()
	out, err := p.tty("exec", "-it", name, "sh", "-c", "tty && echo interactive-ok")
	if err != nil || !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "interactive-ok") {
		t.Fatalf("podman exec -it: %v\n%s", err, out)
	}
	docs = e.since(mark)
	execs = filter(docs, "event", "exec", ctr)
	if len(execs) != 1 {
		t.Fatalf("got %d exec events, want 1:\n%v", len(execs), docs)
	}
	check(t, "podman exec -it", execs[0], []expectation{
		{"process.interactive", true},
		{"execguard.exec_kind", "engine"},
		{"container.name", name},
		{"event.type", []string{"start"}},
	})
	if alerts := kinds(docs, "alert"); len(alerts) != 1 || alerts[0].str("rule.id") != ruleID {
		t.Errorf("want one alert of the rule, got %v", alerts)
	}

	// podman exec -i sh: a shell fed from stdin without a terminal, through
	// conmon's stdin pipe. It works, and it is alerted on.
	mark = e.mark()
	out, err = p.stdin(stdinShellScript, "exec", "-i", name, "sh")
	if err != nil || !strings.Contains(out, "stdin-shell-ran") || !strings.Contains(out, "no-terminal") {
		t.Fatalf("podman exec -i sh: %v\n%s", err, out)
	}
	checkStdinShell(t, "podman exec -i sh", e.since(mark), "exec", ctr, "start")
	// podman run -d -i ... sh: a container whose init is a shell on conmon's
	// stdin pipe (podman attach feeds it).
	mark = e.mark()
	runOut = p.must("run", "-d", "-i", "--name", name+"-stdin", "--network", "host", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
		"localhost/execguard-e2e:bb", "sh")
	fields = strings.Fields(runOut)
	checkStdinShell(t, "podman run -i sh", e.since(mark), "container-start", fields[len(fields)-1], "start")
	p.must("rm", "--force", "--time", "0", name+"-stdin")

	// podman exec without -i: fd 0 is conmon's /dev/null.
	mark = e.mark()
	p.must("exec", name, "true")
	check(t, "podman exec", oneDoc(t, "podman exec", e.since(mark), "event", "exec", ctr), []expectation{
		{"execguard.stdin", "none"}, {"execguard.stdin_source", "null"},
	})

	if runtimeName == "runc" {
		testPodmanDiagnostics(t, p, wrapper, filepath.Dir(e.eventLog), filepath.Join(dir, "state"))
	}

	// Block mode: the reason reaches the user through conmon and Podman.
	setConfig("block")
	mark = e.mark()
	out, err = p.stdin("touch /tmp/stdin-marker\necho marker-written\n", "exec", "-i", name, "sh")
	if err == nil || strings.Contains(out, "marker-written") {
		t.Fatalf("podman exec -i sh ran in block mode (%v):\n%s", err, out)
	}
	if want := fmt.Sprintf(`execguard: shell with attached stdin in container %q blocked by policy`, name); !strings.Contains(out, want) {
		t.Errorf("the user saw:\n%s\nwant %q", out, want)
	}
	t.Logf("podman exec -i sh refused; the user saw: %s", strings.TrimSpace(out))
	checkStdinShell(t, "podman exec -i sh blocked", e.since(mark), "exec", ctr, "denied")
	if out := p.must("exec", name, "sh", "-c", "test -e /tmp/stdin-marker && echo present || echo absent"); strings.TrimSpace(out) != "absent" {
		t.Errorf("the refused shell ran: marker %s", out)
	}
	mark = e.mark()
	out, err = p.tty("exec", "-it", name, "sh", "-c", "touch /tmp/blocked-marker")
	if err == nil {
		t.Fatalf("podman exec -it succeeded in block mode:\n%s", out)
	}
	want := fmt.Sprintf(`execguard: interactive exec into container %q blocked by policy`, name)
	if !strings.Contains(out, "OCI runtime error") || !strings.Contains(out, want) {
		t.Errorf("the user saw:\n%s\nwant an OCI runtime error with %q", out, want)
	}
	docs = e.since(mark)
	denied := filter(docs, "event", "exec", ctr)
	if len(denied) != 1 {
		t.Fatalf("got %d exec events for the blocked exec, want 1", len(denied))
	}
	check(t, "blocked exec", denied[0], []expectation{{"event.type", []string{"denied"}}, {"event.outcome", "failure"}})
	// The same exec with its environment padded so that its process spec
	// passes the 4 MiB a size cap once read (the JSON encoder writes each
	// '<' as 6 bytes): the terminal flag is still read, and it is refused.
	padArgs := []string{"exec", "-it"}
	for i := range 7 {
		padArgs = append(padArgs, "-e", fmt.Sprintf("PAD%d=%s", i, strings.Repeat("<", 120000)))
	}
	mark = e.mark()
	out, err = p.ttyCommand(p.scriptFile(filepath.Join(dir, "padded-exec.sh"), append(padArgs, name, "sh", "-c", "touch /tmp/blocked-marker")...))
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("podman exec -it with a padded environment: %v, the user saw:\n%s\nwant %q", err, clip(out, 400), want)
	}
	padded := filter(e.since(mark), "event", "exec", ctr)
	if len(padded) != 1 {
		t.Fatalf("got %d exec events for the padded exec, want 1", len(padded))
	}
	check(t, "padded exec", padded[0], []expectation{{"event.type", []string{"denied"}}, {"process.interactive", true}})
	if envs := padded[0].strs("process.env_vars"); !slices.Contains(envs, "PAD6") {
		t.Errorf("padded exec event's env_vars %v, want the padding's names", envs)
	}
	// Nothing ran; plain execs, stop and removal still work.
	if out := p.must("exec", name, "sh", "-c", "test -e /tmp/blocked-marker && echo present || echo absent"); strings.TrimSpace(out) != "absent" {
		t.Errorf("the blocked exec ran: marker %s", out)
	}
	start := time.Now()
	p.must("rm", "--force", "--time", "0", name)
	t.Logf("podman rm in block mode took %s", time.Since(start).Round(time.Millisecond))
}

// testPodmanDiagnostics: conmon hands the runtime the exec's own streams,
// and Podman gives a runtime whose name it does not know (execguard-runc)
// no --log. With an event log directory others may write, podman exec and
// exec -it show nothing of execguard's; the warnings are in the
// diagnostics file.
func testPodmanDiagnostics(t *testing.T, p *podman, wrapper, eventsDir, stateDir string) {
	named := filepath.Join(filepath.Dir(wrapper), "execguard-runc")
	if err := os.Symlink(wrapper, named); err != nil {
		t.Fatal(err)
	}
	q := *p
	q.global = append(slices.Clone(p.global[:len(p.global)-2]), "--runtime", named)
	name := "c-unnamed-runtime"
	q.must("run", "-d", "--name", name, "--network", "host", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
		"localhost/execguard-e2e:bb", "sleep", "3600")
	defer q.run("rm", "--force", "--time", "0", name)
	diagPath := filepath.Join(stateDir, "runtime.log")
	os.Remove(diagPath)
	if err := os.Chmod(eventsDir, 0o777); err != nil {
		t.Fatal(err)
	}
	plainOut := q.must("exec", name, "echo", "plain-ok")
	ttyOut, err := q.tty("exec", "-it", name, "sh", "-c", "echo tty-ok")
	if cerr := os.Chmod(eventsDir, 0o750); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil || !strings.Contains(ttyOut, "tty-ok") {
		t.Fatalf("podman exec -it: %v\n%s", err, ttyOut)
	}
	for _, shown := range []string{plainOut, ttyOut} {
		if strings.Contains(shown, "execguard") || strings.Contains(shown, stateDir) {
			t.Errorf("podman exec showed execguard's diagnostics:\n%s", shown)
		}
	}
	diags, _ := os.ReadFile(diagPath)
	if n := strings.Count(string(diags), "is writable by group or others (mode 0777)"); n < 2 {
		t.Errorf("the diagnostics file has %d warnings of the log directory, want one per exec (2):\n%s", n, diags)
	}
}

// writeRootfsTar writes a root file system holding a static busybox and its
// applets, for podman import.
func writeRootfsTar(path string) error {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"bin/", "tmp/", "etc/", "proc/", "sys/", "dev/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bb))}); err != nil {
		return err
	}
	if _, err := tw.Write(bb); err != nil {
		return err
	}
	for _, applet := range []string{"sh", "sleep", "id", "true", "tty", "touch", "test", "echo", "ls", "cat"} {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
