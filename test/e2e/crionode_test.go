//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/test/crionode"
)

const realCrun = "/usr/bin/crun"

// crioEnv is one test's private CRI-O, wrapper and event log. The runc and
// crun handlers' runtime_path are links to the wrapper named after the
// runtime, with the wrapper's configuration beside them, as execguard
// install --engine crio lays them out.
type crioEnv struct {
	*env
	crio    *crionode.Node
	libexec string
}

// newCRIOEnv builds the wrapper, writes its configuration with the given
// interactive action and starts a CRI-O whose runc and crun handlers run
// every runtime call through it.
func newCRIOEnv(t *testing.T, action string) *crioEnv {
	t.Helper()
	requireCRIO(t)
	dir := t.TempDir()
	libexec := filepath.Join(dir, "libexec")
	e := &crioEnv{
		env: &env{t: t, dir: dir, configPath: filepath.Join(libexec, "execguard.toml"),
			eventLog: filepath.Join(dir, "events", "events.ndjson")},
		libexec: libexec,
	}
	for _, d := range []string{libexec, filepath.Dir(e.eventLog)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wrapper := buildWrapper(t, dir)
	for _, name := range []string{"runc", "crun"} {
		if err := os.Symlink(wrapper, filepath.Join(libexec, name)); err != nil {
			t.Fatal(err)
		}
	}
	e.setCRIOAction(action)

	start := time.Now()
	n, err := crionode.Start(context.Background(), crionode.Options{
		RuntimePaths: map[string]string{"runc": filepath.Join(libexec, "runc"), "crun": filepath.Join(libexec, "crun")},
	})
	if err != nil {
		t.Fatalf("start CRI-O: %v", err)
	}
	t.Logf("CRI-O %s up in %s (dir %s, storage %s)", n.Version, time.Since(start).Round(time.Millisecond), n.Dir, n.StorageDriver)
	e.crio = n
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("CRI-O log tail:\n%s", n.LogTail(40))
			if b, err := os.ReadFile(e.eventLog); err == nil {
				t.Logf("event log:\n%s", tail(string(b), 20))
			}
		}
		if err := n.Close(); err != nil {
			t.Errorf("close CRI-O: %v", err)
		}
	})
	return e
}

// requireCRIO fails (never skips) when the machine cannot run CRI-O,
// saying what is missing.
func requireCRIO(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root privileges")
	}
	for _, bin := range []string{"crictl", "script", "conmon"} {
		if _, err := lookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	dir := os.Getenv(crionode.DirEnv)
	if dir == "" {
		dir = crionode.DefaultDir
	}
	for _, f := range []string{realRunc, realCrun, "/bin/busybox", filepath.Join(dir, "bin", "crio"),
		filepath.Join(dir, "bin", "pinns"), filepath.Join(dir, "bin", "copyimg")} {
		if st, err := os.Stat(f); err != nil || st.Mode()&0o111 == 0 {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("e2e prerequisites missing: %s (run test/setup-node.sh as root; it builds CRI-O %s)", strings.Join(missing, ", "), crionode.Version)
	}
}

// setCRIOAction rewrites the wrapper configuration beside the links; the
// wrapper reads it on every call. Replaced by rename, never half-written.
func (e *crioEnv) setCRIOAction(action string) {
	e.t.Helper()
	cfg := fmt.Sprintf("event_log = %q\nstate_dir = %q\ninteractive_action = %q\nfail_mode = \"open\"\n\n[runtimes]\nrunc = %q\ncrun = %q\n",
		e.eventLog, filepath.Join(e.dir, "state"), action, realRunc, realCrun)
	tmp := e.configPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(cfg), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, e.configPath); err != nil {
		e.t.Fatal(err)
	}
}

// startPod runs a pod with one long-running, non-tty busybox container.
func (e *crioEnv) startPod(p crionode.Pod, container string) (podID, ctrID string) {
	e.t.Helper()
	podID, err := e.crio.RunPodWith(p)
	if err != nil {
		e.t.Fatal(err)
	}
	ctrID, err = e.crio.CreateContainer(podID, container, false, "sleep", "3600")
	if err != nil {
		e.t.Fatal(err)
	}
	return podID, ctrID
}

// onlyExec returns the one exec event of ctr among docs.
func onlyExec(t *testing.T, docs []doc, ctr string) doc {
	t.Helper()
	execs := filter(docs, "event", "exec", ctr)
	if len(execs) != 1 {
		t.Fatalf("got %d exec events for %s, want 1:\n%v", len(execs), ctr, docs)
	}
	return execs[0]
}

// checkCRIOPod checks the CRI-O metadata the wrapper reads from the bundle.
func checkCRIOPod(t *testing.T, what string, d doc, pod, namespace, container string) {
	t.Helper()
	checkPod(t, what, d, pod, namespace, container)
	check(t, what, d, []expectation{
		{"execguard.manager", "cri-o"},
		{"orchestrator.resource.id", namespace + "-" + pod + "-uid"},
	})
}

// crunState returns a container's status as crun reports it from root.
func crunState(root, id string) (string, error) {
	out, err := exec.Command(realCrun, "--root", root, "state", id).Output()
	if err != nil {
		return "", fmt.Errorf("crun --root %s state %s: %w", root, id, err)
	}
	var st struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return "", fmt.Errorf("crun state %s: %w", id, err)
	}
	if st.Status != "running" {
		return st.Status, fmt.Errorf("crun state %s: status %q, want running", id, st.Status)
	}
	return st.Status, nil
}
