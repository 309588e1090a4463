package rules

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/execguard/execguard/detect"
)

// elasticDir holds some of Elastic's cloud_defend rules (id, name,
// severity, risk score and query as published), the e2e tests' too.
const elasticDir = "testdata/cloud_defend"

// TestElasticRulesLoad: Elastic's rules load with none invalid; a sequence
// with maxspan is not applicable, and says why.
func TestElasticRulesLoad(t *testing.T) {
	set, err := LoadDir(elasticDir)
	if err != nil {
		t.Fatalf("LoadDir %s: %v", elasticDir, err)
	}
	if got, want := fmt.Sprint(names(set.Rules)), "[discovery_suspicious_network_tool_launched_inside_a_container.toml discovery_tool_enumeration.toml execution_interactive_exec_to_container.toml execution_interactive_shell_spawned_from_inside_a_container.toml]"; got != want {
		t.Errorf("rules that run: %s, want %s", got, want)
	}
	if len(set.Skipped) != 1 {
		t.Fatalf("skipped %v, want the sequence rule only", set.Skipped)
	}
	s := set.Skipped[0]
	if filepath.Base(s.File) != "execution_payload_downloaded_and_piped_to_shell.toml" || s.ID != "a750bbcc-863f-41ef-9924-fd8224e23694" ||
		!strings.Contains(s.Reason, "a sequence query over several events: the runtime decides each process start on its own") {
		t.Errorf("skipped %+v, want the sequence rule with its reason", s)
	}
}

// TestElasticRulesMatch: which of Elastic's rules match what the runtime
// records, each once.
func TestElasticRulesMatch(t *testing.T) {
	set, err := LoadDir(elasticDir)
	if err != nil {
		t.Fatal(err)
	}
	const (
		execInto = "420e5bb4-93bf-40a3-8f4a-4cc1af90eca1"
		tools    = "b84264aa-37a3-49f8-8bbc-60acbe9d4f86"
		network  = "1a289854-5b78-49fe-9440-8a8096b1ab50"
	)
	tests := []struct {
		name string
		op   detect.Operation
		tty  bool
		args []string
		want []string
	}{
		{"interactive shell", detect.OpExec, true, []string{"sh"}, []string{execInto}},
		// A shell with -i is the inner-shell rule's, but the runtime's
		// process is the entry leader (same_as_process), which that rule
		// leaves to the exec rule.
		{"shell with -i", detect.OpExec, true, []string{"/bin/sh", "-i"}, []string{execInto}},
		{"shell without a terminal", detect.OpExec, false, []string{"sh", "-c", "date"}, []string{execInto}},
		{"id", detect.OpExec, false, []string{"id"}, nil},
		{"interactive id", detect.OpExec, true, []string{"id"}, nil},
		{"busybox which", detect.OpExec, false, []string{"busybox", "which", "sh"}, []string{tools, execInto}},
		{"busybox nc", detect.OpExec, false, []string{"busybox", "nc", "-h"}, []string{network, execInto}},
		{"nc -z", detect.OpExec, false, []string{"nc", "-z", "db", "5432"}, nil},
		{"container's shell", detect.OpContainerStart, true, []string{"sh"}, []string{execInto}},
		{"container's sleep", detect.OpContainerStart, false, []string{"sleep", "3600"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range set.Match(event(t, tt.op, tt.tty, tt.args...)) {
				got = append(got, r.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("matched %v, want %v", got, tt.want)
			}
		})
	}
}
