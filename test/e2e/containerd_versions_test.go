//go:build e2e

package e2e

import (
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
	// execguard's shim (task API v3) as it starts its own.
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
	plugin := []struct {
		name string
		run  func(*testing.T, ...envOption)
	}{
		{"NRI plugin", nriPlugin},
		{"NRI plugin pre-registered", nriPluginPreRegistered},
	}
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			for _, fr := range fronts() {
				for _, tc := range cases {
					t.Run(string(fr)+"/"+tc.name, func(t *testing.T) { tc.run(t, fr, onContainerd(in.containerd)) })
				}
			}
			for _, tc := range plugin {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, onContainerd(in.containerd)) })
			}
		})
	}
}
