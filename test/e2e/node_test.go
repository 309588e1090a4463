//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/execguard/execguard/test/node"
)

// The harness itself: a node leaves nothing behind, whether it is closed
// normally or after containerd and the shims were killed, on either
// containerd.
func TestNodeCloseLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name       string
		crash      bool
		containerd string
	}{
		{"normal", false, ""},
		{"after crash", true, ""},
		{"containerd 1.7 normal", false, node.Containerd17},
		{"containerd 1.7 after crash", true, node.Containerd17},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requirePrerequisites(t, tc.containerd)
			n, err := node.Start(context.Background(), node.Options{WrapperPath: realRunc, Containerd: tc.containerd})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("containerd %s", n.ContainerdVersion)
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
			if out, err := n.Exec(ctr, "echo", "up"); err != nil || strings.TrimSpace(out) != "up" {
				t.Fatalf("exec: %q, %v", out, err)
			}
			shims := processesWith(t, n.Socket)
			if len(shims) == 0 {
				t.Fatal("no shim process found for the node")
			}
			if dir, err := node.ContainerdDir(tc.containerd); err != nil {
				t.Fatal(err)
			} else if dir != "" {
				for _, pid := range shims {
					if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || filepath.Dir(exe) != dir {
						t.Errorf("shim %d runs %q (%v), want the one in %s", pid, exe, err, dir)
					}
				}
			}
			inits := initPIDs(t, n.RuncRoot)
			if len(inits) != 2 {
				t.Fatalf("found %d container init processes in runc state, want 2 (pause and app)", len(inits))
			}
			sockets := shimSockets(t, n.Dir)
			if len(sockets) == 0 {
				t.Fatal("no shim socket found in the node's bundles")
			}
			if tc.crash {
				for _, pid := range append(processesWith(t, n.Dir+"/containerd.toml"), shims...) {
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
			for _, s := range sockets {
				if _, err := os.Lstat(s); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("shim socket %s still there (%v)", s, err)
				}
			}
		})
	}
}

// shimSockets reads the shim socket paths from the node's task bundles:
// containerd 2.x keeps it in bootstrap.json, 1.7 in a file named address.
func shimSockets(t *testing.T, dir string) []string {
	t.Helper()
	bundles := filepath.Join(dir, "state", "io.containerd.runtime.v2.task", "*", "*")
	files, _ := filepath.Glob(filepath.Join(bundles, "bootstrap.json"))
	plain, _ := filepath.Glob(filepath.Join(bundles, "address"))
	var out []string
	for _, f := range append(files, plain...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		addr := strings.TrimSpace(string(b))
		if filepath.Base(f) == "bootstrap.json" {
			var v struct {
				Address string `json:"address"`
			}
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			addr = v.Address
		}
		path := strings.TrimPrefix(addr, "unix://")
		if _, err := os.Lstat(path); err != nil {
			t.Fatalf("shim socket %s named in %s: %v", path, f, err)
		}
		out = append(out, path)
	}
	return out
}

// initPIDs reads the container init pids from the node's runc state.
func initPIDs(t *testing.T, runcRoot string) []int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(runcRoot, "*", "*", "state.json"))
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

// alive reports whether pid runs (a zombie waiting for its reaper does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// processesWith lists processes whose command line mentions s (containerd
// and shims name the node's config and socket; container processes do not).
func processesWith(t *testing.T, s string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	self := os.Getpid()
	for _, e := range entries {
		var pid int
		for _, c := range e.Name() {
			if c < '0' || c > '9' {
				pid = -1
				break
			}
			pid = pid*10 + int(c-'0')
		}
		if pid <= 0 || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}
