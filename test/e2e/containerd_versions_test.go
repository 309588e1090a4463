//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/execguard/execguard/test/node"
)

// TestContainerdVersions runs containerd cases on the other containerd
// installs the harness knows; the plain tests run them on the default (2.x).
// The wrapper must behave alike: containerd 1.7's shim calls it the same way.
func TestContainerdVersions(t *testing.T) {
	installs := []struct {
		name       string
		containerd string
	}{
		{"containerd 1.7", node.Containerd17},
	}
	// The exec cases run against both fronts: containerd 1.7 starts
	// execguard's shim as it starts its own, and calls it through the task
	// API v2.
	cases := []struct {
		name string
		run  func(*testing.T, front, ...envOption)
	}{
		{"crictl exec -it alerts", crictlExecTTYAlerts},
		{"crictl exec without tty no alert", crictlExecNoTTYNoAlert},
		{"ctr task exec --tty alerts", ctrTaskExecTTYAlerts},
		{"tty container start alerts", ttyContainerStartAlerts},
		{"block mode", blockMode},
	}
	// The NRI plugin's cases, and the shim's own.
	single := []struct {
		name string
		run  func(*testing.T, ...envOption)
	}{
		{"NRI plugin", nriPlugin},
		{"NRI plugin pre-registered", nriPluginPreRegistered},
		{"shim/end events", shimEndEvents},
	}
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			for _, fr := range fronts() {
				for _, tc := range cases {
					t.Run(string(fr)+"/"+tc.name, func(t *testing.T) { tc.run(t, fr, onContainerd(in.containerd)) })
				}
			}
			for _, tc := range single {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, onContainerd(in.containerd)) })
			}
		})
	}
}

// shimEndEvents: execguard's shim writes the end of each process it
// started, with its exit code and pid, from the exits the runc task service
// publishes: a crictl exec's, a ctr task exec --tty's and the init's.
func shimEndEvents(t *testing.T, opts ...envOption) {
	e := newFrontEnv(t, "alert", frontShim, opts...)
	podID, ctr := e.startPod("ends", "shop", "app")

	mark := e.mark()
	e.node.Exec(ctr, "sh", "-c", "exit 3") // fails with the exit status
	if _, err := e.node.CtrExecTTY(ctr, "eg-end-tty", "sh", "-c", "exit 0"); err != nil {
		t.Fatalf("ctr task exec --tty: %v", err)
	}
	docs := e.since(mark)
	execs := filter(docs, "event", "exec", ctr)
	if len(execs) != 2 {
		t.Fatalf("got %d exec events, want 2:\n%v", len(execs), docs)
	}
	checkEnd(t, "crictl exec end", endOf(t, docs, execs[0]), execs[0], 3)
	checkEnd(t, "ctr task exec end", endOf(t, docs, execs[1]), execs[1], 0)

	starts := filter(e.events(), "event", "container-start", ctr)
	if len(starts) != 1 {
		t.Fatalf("got %d container-start events for %s, want 1", len(starts), ctr)
	}
	mark = e.mark()
	if _, err := e.node.Crictl("stop", "--timeout", "0", ctr); err != nil {
		t.Fatal(err)
	}
	check(t, "init end", endOf(t, e.since(mark), starts[0]), []expectation{{"process.exit_code", 137}})
	if err := e.node.RemovePod(podID); err != nil {
		t.Fatal(err)
	}
}

// On containerd 2 execguard's shim bootstraps as containerd's runc shim
// does, with version 3 (task API v3), for a pod and its container; version
// 2 is for containerd 1.x only.
func TestShimBootstrapVersion(t *testing.T) {
	e := newFrontEnv(t, "alert", frontShim)
	podID, ctr := e.startPod("bootstrap", "shop", "app")
	for _, id := range []string{podID, ctr} {
		path := filepath.Join(e.node.Dir, "state", "io.containerd.runtime.v2.task", "k8s.io", id, "bootstrap.json")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var params struct {
			Version int `json:"version"`
		}
		if err := json.Unmarshal(b, &params); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if params.Version != 3 {
			t.Errorf("%s says version %d, want 3: %s", path, params.Version, b)
		}
	}
}
