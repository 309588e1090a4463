//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/execguard/execguard/plugin"
	"github.com/execguard/execguard/test/crionode"
)

// TestCRIONRIPlugin runs the NRI plugin against CRI-O's NRI: it connects,
// knows CRI-O's containers, and the pod labels it publishes (CRI-O's bundle
// annotations have none) reach the wrapper's exec events, also after CRI-O
// restarted.
func TestCRIONRIPlugin(t *testing.T) {
	e := newCRIOEnv(t, "alert")
	stateDir := filepath.Join(e.dir, "state")
	pluginLog := filepath.Join(e.dir, "plugin.log")
	t.Cleanup(func() {
		if b, err := os.ReadFile(pluginLog); err == nil && t.Failed() {
			t.Logf("plugin log:\n%s", tail(string(b), 40))
		}
	})
	startNRIPlugin(t, e.dir, e.crio.NRISocket, e.configPath, pluginLog)
	st := waitStatus(t, stateDir, "the first synchronisation with CRI-O", func(s plugin.Status) bool {
		return s.Connected && !s.Synchronized.IsZero()
	})
	if !strings.Contains(strings.ToLower(st.Runtime.Name), "cri-o") {
		t.Errorf("plugin connected to runtime %q, want CRI-O", st.Runtime.Name)
	}

	labels := map[string]string{"app": "web", "tier": "frontend"}
	_, ctr := e.startPod(crionode.Pod{Name: "web", Namespace: "shop", Labels: labels}, "server")
	mark := e.mark()
	if out, err := e.crio.ExecTTY(ctr, "sh", "-c", "exit 0"); err != nil {
		t.Fatalf("crictl exec -it: %v\n%s", err, out)
	}
	docs := e.since(mark)
	alerts := filter(docs, "alert", "exec", ctr)
	if len(alerts) != 1 {
		t.Fatalf("%d exec alerts, want 1:\n%v", len(alerts), docs)
	}
	// The pod's labels as the plugin published them: the test's and the
	// kubelet's (CRI-O copies only the container's own into the bundle).
	check(t, "exec alert", alerts[0], []expectation{
		{"orchestrator.resource.label.app", "web"},
		{"orchestrator.resource.label.tier", "frontend"},
		{"orchestrator.resource.name", "web"},
		{"orchestrator.namespace", "shop"},
		{"orchestrator.resource.id", "shop-web-uid"},
		{"execguard.manager", "cri-o"},
	})
	waitStatus(t, stateDir, "the server container covered", func(s plugin.Status) bool { return slices.Contains(s.Covered, ctr) })

	// CRI-O restarts: the plugin reconnects, and the labels still come.
	restarted := time.Now()
	if err := e.crio.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, stateDir, "the plugin reconnected to CRI-O", func(s plugin.Status) bool {
		return s.Connected && s.Reconnects >= 1 && s.Synchronized.After(restarted)
	})
	mark = e.mark()
	if out, err := e.crio.ExecTTY(ctr, "sh", "-c", "exit 0"); err != nil {
		t.Fatalf("crictl exec -it after the restart: %v\n%s", err, out)
	}
	alerts = filter(e.since(mark), "alert", "exec", ctr)
	if len(alerts) != 1 {
		t.Fatalf("%d exec alerts after the restart, want 1", len(alerts))
	}
	check(t, "exec alert after the restart", alerts[0], []expectation{
		{"orchestrator.resource.label.app", "web"},
		{"orchestrator.resource.label.tier", "frontend"},
	})
}

// The harness itself: a CRI-O node leaves nothing behind (processes
// including conmon, mounts, cgroups, its directory, files in CRI-O's system
// locations), whether it is closed normally or after CRI-O and conmon were
// killed.
func TestCRIONodeCloseLeavesNothing(t *testing.T) {
	system := []string{"/var/run/crio", "/var/lib/crio", "/var/log/crio", "/etc/crio", "/etc/crio/auth", "/etc/sysconfig/orig_irq_banned_cpus"}
	for _, tc := range []struct {
		name  string
		crash bool
	}{
		{"normal", false},
		{"after crash", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireCRIO(t)
			existed := map[string]bool{}
			for _, p := range system {
				_, err := os.Lstat(p)
				existed[p] = err == nil
			}
			n, err := crionode.Start(context.Background(), crionode.Options{})
			if err != nil {
				t.Fatal(err)
			}
			closed := false
			t.Cleanup(func() {
				if !closed {
					_ = n.Close()
				}
			})
			podID, err := n.RunPod("leak", "check")
			if err != nil {
				t.Fatal(err)
			}
			ctr, err := n.CreateContainer(podID, "app", true, "sh")
			if err != nil {
				t.Fatal(err)
			}
			if out, err := n.ExecSync(ctr, "echo", "up"); err != nil || strings.TrimSpace(out) != "up" {
				t.Fatalf("exec: %q, %v", out, err)
			}
			procs, err := crionode.ProcessesWith(n.Dir)
			if err != nil {
				t.Fatal(err)
			}
			conmons := 0
			for _, pid := range procs {
				if comm, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm")); strings.TrimSpace(string(comm)) == "conmon" {
					conmons++
				}
			}
			if conmons == 0 {
				t.Fatalf("no conmon among the node's processes %v", procs)
			}
			inits := crioInitPIDs(t, n.RuntimeRoot("runc"))
			if len(inits) != 1 {
				t.Fatalf("found %d container init processes in runc state, want 1 (no infra container for a host-network pod)", len(inits))
			}
			if tc.crash {
				for _, pid := range procs {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}

			closed = true
			if err := n.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			if _, err := os.Stat(n.Dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("node dir %s still there (%v)", n.Dir, err)
			}
			mountinfo, err := os.ReadFile("/proc/self/mountinfo")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(mountinfo), n.Dir) {
				t.Errorf("mounts under %s remain", n.Dir)
			}
			deadline := time.Now().Add(5 * time.Second)
			for len(processesWith(t, n.Dir)) > 0 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if pids := processesWith(t, n.Dir); len(pids) > 0 {
				t.Errorf("processes of the node still running: %v", pids)
			}
			for _, pid := range inits {
				if alive(pid) {
					t.Errorf("container init %d still running", pid)
				}
			}
			if cg, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", n.CgroupParent)); len(cg) > 0 {
				t.Errorf("cgroups remain: %v", cg)
			}
			for _, p := range system {
				if _, err := os.Lstat(p); err == nil && !existed[p] {
					t.Errorf("%s appeared while the node ran", p)
				}
			}
		})
	}
}

// crioInitPIDs reads the container init pids from a handler's runc state.
func crioInitPIDs(t *testing.T, root string) []int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "*", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			PID int `json:"init_process_pid"`
		}
		if err := json.Unmarshal(b, &st); err != nil || st.PID <= 0 {
			t.Fatalf("runc state %s: pid %d, %v", f, st.PID, err)
		}
		pids = append(pids, st.PID)
	}
	return pids
}
