//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/install/fsplan"
	"github.com/execguard/execguard/test/crionode"
)

// TestCRIOInstall runs execguard install --engine crio against a real
// CRI-O's configuration and drop-in directory, restarts CRI-O and checks
// that both handlers run through the wrapper; then uninstall, restart, and
// CRI-O runs the real runtimes again with its configuration as it was.
func TestCRIOInstall(t *testing.T) {
	requireCRIO(t)
	ctx := context.Background()
	dir := t.TempDir()
	execguard := buildCommand(t, "./cmd/execguard", filepath.Join(dir, "src", "execguard"))
	wrapperSrc := buildCommand(t, "./cmd/execguard-runtime", filepath.Join(dir, "src", "execguard-runtime"))

	n, err := crionode.Start(ctx, crionode.Options{})
	if err != nil {
		t.Fatalf("start CRI-O: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("CRI-O log tail:\n%s", n.LogTail(30))
		}
		if err := n.Close(); err != nil {
			t.Errorf("close CRI-O: %v", err)
		}
	})
	libexec := filepath.Join(dir, "libexec")
	// The wrapper finds its configuration beside the runtime_path links:
	// conmon passes runtime calls no environment of CRI-O's.
	config := filepath.Join(libexec, "execguard.toml")
	eventLog := filepath.Join(dir, "log", "events.ndjson")
	e := &crioEnv{env: &env{t: t, dir: dir, configPath: config, eventLog: eventLog}, crio: n, libexec: libexec}
	userConfig := "event_log = \"" + eventLog + "\"\nstate_dir = \"" + filepath.Join(dir, "state") + "\"\ninteractive_action = \"alert\"\n"
	for _, d := range []string{libexec, filepath.Dir(eventLog)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(config, []byte(userConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	original, err := os.ReadFile(n.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	flags := []string{"--root", "/", "--engine", "crio",
		"--crio-config", n.ConfigFile, "--crio-config-dir", n.ConfigDir, "--crio-wrapper-dir", libexec,
		"--config", config, "--backup-dir", filepath.Join(dir, "backup"),
		"--wrapper-path", filepath.Join(dir, "bin", "execguard-runtime"), "--wrapper-dir", filepath.Join(dir, "bin"),
		"--plugin-path", filepath.Join(dir, "bin", "execguard-nri"), "--systemd-unit", filepath.Join(dir, "systemd", "execguard-nri.service"),
		"--plugin-log", filepath.Join(dir, "log", "nri.log"), "--policy-path", filepath.Join(dir, "etc", "policy.yaml")}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(execguard, args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("execguard %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// Before install: the real runc.
	_, before := e.startPod(crionode.Pod{Name: "before", Namespace: "install"}, "app")
	if _, err := n.Exec(before, "true"); err != nil {
		t.Fatal(err)
	}
	if docs := e.events(); len(docs) != 0 {
		t.Fatalf("%d events before install", len(docs))
	}

	out := run(append([]string{"install", "--wrapper", wrapperSrc, "--plugin", execguard}, flags...)...)
	t.Logf("install:\n%s", out)
	dropIn := filepath.Join(n.ConfigDir, "99-execguard.conf")
	data, err := os.ReadFile(dropIn)
	if err != nil {
		t.Fatalf("drop-in: %v", err)
	}
	for _, want := range []string{"enable_nri = true", "runtime_path = '" + filepath.Join(libexec, "runc") + "'",
		"runtime_path = '" + filepath.Join(libexec, "crun") + "'"} {
		if !strings.Contains(strings.ReplaceAll(string(data), `"`, "'"), want) {
			t.Errorf("drop-in lacks %s:\n%s", want, data)
		}
	}
	if got, _ := os.ReadFile(n.ConfigFile); !bytes.Equal(got, original) {
		t.Errorf("install changed crio.conf:\n%s", fsplan.Unified(string(original), string(got), 1))
	}
	if again := run(append([]string{"install", "--wrapper", wrapperSrc, "--plugin", execguard}, flags...)...); !strings.Contains(again, "nothing to change") {
		t.Errorf("second install changed something:\n%s", again)
	}

	restarted := time.Now()
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("CRI-O restarted with the drop-in in %s", time.Since(restarted).Round(time.Millisecond))
	_, during := e.startPod(crionode.Pod{Name: "during", Namespace: "install"}, "app")
	mark := e.mark()
	if out, err := n.ExecTTY(during, "sh", "-c", "exit 0"); err != nil {
		t.Fatalf("crictl exec -it: %v\n%s", err, out)
	}
	docs := e.since(mark)
	ev := onlyExec(t, docs, during)
	checkCRIOPod(t, "exec after install", ev, "during", "install", "app")
	check(t, "exec after install", ev, []expectation{{"process.interactive", true}, {"execguard.caller", "crio"}, {"container.runtime", "runc"}})
	if len(filter(docs, "alert", "exec", during)) != 1 {
		t.Errorf("want one alert for crictl exec -it after install")
	}
	// CRI-O runs every exec with the handler's current runtime_path: the
	// container created before install is covered for its execs too.
	mark = e.mark()
	if _, err := n.Exec(before, "true"); err != nil {
		t.Fatal(err)
	}
	if got := filter(e.since(mark), "event", "exec", before); len(got) != 1 {
		t.Errorf("%d exec events for the container created before install, want 1", len(got))
	}

	// status reports the node's problems with exit status 1; what matters
	// here is what it says of CRI-O: both handlers wrapped, the plugin CRI-O
	// launched from its NRI plugin directory connected to it.
	statusOut, err := exec.Command(execguard, append([]string{"status"}, flags...)...).CombinedOutput()
	status := string(statusOut)
	t.Logf("status (%v):\n%s", err, status)
	for _, want := range []string{
		"drop-in " + dropIn + " active",
		"handler runc: " + filepath.Join(libexec, "runc") + " -> " + realRunc + " (wrapper front)",
		"handler crun: " + filepath.Join(libexec, "crun") + " -> " + realCrun + " (wrapper front)",
		"plugin:      connected (pre-registered",
		"cri-o " + n.Version,
	} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q", want)
		}
	}

	out = run(append([]string{"uninstall"}, flags...)...)
	t.Logf("uninstall:\n%s", out)
	if _, err := os.Stat(dropIn); err == nil {
		t.Errorf("drop-in %s still there after uninstall", dropIn)
	}
	if got, _ := os.ReadFile(n.ConfigFile); !bytes.Equal(got, original) {
		t.Errorf("crio.conf after uninstall:\n%s", fsplan.Unified(string(original), string(got), 1))
	}
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	_, after := e.startPod(crionode.Pod{Name: "after", Namespace: "install"}, "app")
	mark = e.mark()
	for _, ctr := range []string{after, during} {
		if out, err := n.ExecTTY(ctr, "sh", "-c", "exit 0"); err != nil {
			t.Fatalf("crictl exec -it after uninstall: %v\n%s", err, out)
		}
	}
	if docs := e.since(mark); len(docs) != 0 {
		t.Errorf("%d events after uninstall and restart, want none: %v", len(docs), docs)
	}

	// Once the containers started through the wrapper are gone, uninstall
	// takes the rest: the links, the wrapper, its [runtimes].
	out, err = n.Crictl("pods", "--name", "during", "-q")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.RemovePod(strings.TrimSpace(out)); err != nil {
		t.Fatal(err)
	}
	t.Logf("second uninstall:\n%s", run(append([]string{"uninstall"}, flags...)...))
	for _, p := range []string{filepath.Join(libexec, "runc"), filepath.Join(libexec, "crun"), filepath.Join(dir, "bin"), filepath.Join(dir, "backup")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
	if got, _ := os.ReadFile(config); string(got) != userConfig {
		t.Errorf("execguard config after uninstall:\n%s", fsplan.Unified(userConfig, string(got), 2))
	}
}
