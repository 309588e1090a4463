//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/execguard/execguard/test/node"
)

// paddedEnv is the environment the review padded a pod with: seven values
// of 120 000 '<', which containerd writes into config.json as \u003c, six
// bytes each: about 5 MB of bundle config, past the 4 MiB a size cap once
// read before the terminal flag was known.
func paddedEnv() []string {
	var env []string
	for i := range 7 {
		env = append(env, fmt.Sprintf("PAD%d=%s", i, strings.Repeat("<", 120000)))
	}
	return env
}

// TestPaddedContainerStart performs the padded-environment attack through
// CRI on both containerd fronts, under interactive_action block and
// fail_mode closed: a container with a terminal and a padded environment is
// refused at create and alerted, as without the padding; the same padding
// without a terminal starts, recorded as not interactive.
func TestPaddedContainerStart(t *testing.T) {
	for _, fr := range fronts() {
		t.Run(string(fr), func(t *testing.T) {
			e := newFrontEnv(t, "block", fr)
			cfg := fmt.Sprintf("event_log = %q\nstate_dir = %q\ninteractive_action = \"block\"\nfail_mode = \"closed\"\n\n[runtimes]\nrunc = %q\n",
				e.eventLog, filepath.Join(e.dir, "state"), realRunc)
			replaceFileMode(t, e.configPath, []byte(cfg), 0o644)
			pod, err := e.node.RunPod("padded", "attack")
			if err != nil {
				t.Fatal(err)
			}

			mark := e.mark()
			id, err := e.node.CreateContainerWith(pod, node.Container{Name: "console", TTY: true, Stdin: true, Env: paddedEnv(), Cmd: []string{"sh"}})
			if err == nil {
				t.Fatalf("a container with a terminal and a padded environment started (%s) under block", id)
			}
			if !strings.Contains(err.Error(), "blocked by policy") {
				t.Errorf("padded interactive container failed for another reason than the policy: %v", err)
			}
			var starts, alerts []doc
			for _, d := range e.since(mark) {
				if actionOf(d) != "container-start" || d.str("container.name") != "console" {
					continue
				}
				switch d.str("event.kind") {
				case "event":
					starts = append(starts, d)
				case "alert":
					alerts = append(alerts, d)
				}
			}
			if len(starts) != 1 || len(alerts) != 1 {
				t.Fatalf("%d container-start events and %d alerts for the padded console, want 1 and 1", len(starts), len(alerts))
			}
			check(t, "padded console", starts[0], []expectation{
				{"event.type", []string{"denied"}}, {"event.outcome", "failure"}, {"process.interactive", true},
			})
			if msg := starts[0].str("error.message"); msg != "" {
				t.Errorf("padded console's event has an error (a size limit decided?): %s", msg)
			}

			// The padding alone is no reason to refuse.
			mark = e.mark()
			plain, err := e.node.CreateContainerWith(pod, node.Container{Name: "plain", Env: paddedEnv(), Cmd: []string{"sleep", "3600"}})
			if err != nil {
				t.Fatalf("a padded container without a terminal: %v", err)
			}
			ps := filter(e.since(mark), "event", "container-start", plain)
			if len(ps) != 1 {
				t.Fatalf("%d container-start events for the padded plain container, want 1", len(ps))
			}
			check(t, "padded plain container", ps[0], []expectation{{"event.type", []string{"start"}}, {"process.interactive", false}})
			if envs := ps[0].strs("process.env_vars"); len(envs) < 7 {
				t.Errorf("padded plain container's env_vars %v, want the padding's names", envs)
			}
		})
	}
}
