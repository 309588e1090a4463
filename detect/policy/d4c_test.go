package policy

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/execguard/execguard/detect"
)

// TestD4CDocumentationExamples reads policies shaped like the examples of
// Elastic's D4C documentation (testdata/d4c/README.md) and checks what
// execguard makes of them.
func TestD4CDocumentationExamples(t *testing.T) {
	nginx := func(f *detect.Facts) {
		f.Container.Image = "docker.io/library/nginx:latest"
		f.Container.PodNamespace = "default"
		f.Container.PodName = "nginx-pod-7f9c"
		f.Container.PodLabels = map[string]string{"production": "yes"}
		f.Cluster = detect.Cluster{ID: "cluster1", Name: "stagingCluster"}
	}
	type check struct {
		name  string
		facts detect.Facts
		want  Result
	}
	tests := []struct {
		file   string
		notes  []string // substrings of the notes, in order
		checks []check
	}{
		{
			file:  "default.yaml",
			notes: []string{"file selectors and responses are not enforced"},
			checks: []check{
				{"exec is logged", facts(), Result{Selectors: []string{"allProcesses"}, Responses: []int{0}, Log: true, Cause: []string{"allProcesses"}}},
				{"interactive exec is logged and alerted", facts(tty), Result{Selectors: []string{"allProcesses", "interactiveProcesses"}, Responses: []int{0, 1}, Log: true, Alert: true, Cause: []string{"interactiveProcesses"}}},
				// D4C's exec also sees a container's init; execguard's exec
				// is the exec of a running container only (docs/policy.md).
				{"container start is not an exec", facts(start, tty), Result{}},
			},
		},
		{
			file: "responses.yaml",
			checks: []check{
				{"logged", facts(), Result{Selectors: []string{"allProcesses"}, Responses: []int{0}, Log: true, Cause: []string{"allProcesses"}}},
				{"systemd excluded", facts(args("/lib/systemd/systemd-journald")), Result{Selectors: []string{"allProcesses", "excludeSystemDServices"}}},
				{"nefarious blocked", facts(args("/tmp/x/miner")), Result{Selectors: []string{"allProcesses", "nefariousActivity"}, Responses: []int{0, 1}, Log: true, Alert: true, Block: true, Cause: []string{"nefariousActivity"}}},
				{"one directory only", facts(args("/dev/shm/a/b")), Result{Selectors: []string{"allProcesses"}, Responses: []int{0}, Log: true, Cause: []string{"allProcesses"}}},
			},
		},
		{
			file: "common-conditions.yaml",
			checks: []check{
				{"every condition holds", facts(nginx), Result{Selectors: []string{"exampleProcessSelector"}, Responses: []int{0}, Alert: true, Cause: []string{"exampleProcessSelector"}}},
				{"other tag", facts(nginx, img("nginx:1.25")), Result{}},
				{"other pod", facts(nginx, pod("web-1")), Result{}},
				{"no production label", facts(nginx, labels("staging", "yes")), Result{}},
				{"other cluster", facts(nginx, cluster("cluster2", "stagingCluster")), Result{}},
			},
		},
		{
			// The D4C README describes this selector as requiring both
			// labels; its general rule, and execguard, OR the values of one
			// condition (docs/policy.md, "Differences from D4C").
			file: "pod-labels.yaml",
			checks: []check{
				{"environment key", facts(labels("environment", "dev")), Result{Selectors: []string{"ownedEnvironments"}, Responses: []int{0}, Alert: true, Cause: []string{"ownedEnvironments"}}},
				{"owner label", facts(labels("owner", "drohan")), Result{Selectors: []string{"ownedEnvironments"}, Responses: []int{0}, Alert: true, Cause: []string{"ownedEnvironments"}}},
				{"other owner", facts(labels("owner", "someone")), Result{}},
			},
		},
		{
			file: "version.yaml",
			checks: []check{
				{"interactive", facts(tty), Result{Selectors: []string{"interactiveSessions"}, Responses: []int{0}, Alert: true, Cause: []string{"interactiveSessions"}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p, err := loadYAML(filepath.Join("testdata", "d4c", tt.file))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			notes := p.Notes()
			if len(notes) != len(tt.notes) {
				t.Errorf("notes %v, want %d", notes, len(tt.notes))
			}
			for i := range min(len(notes), len(tt.notes)) {
				if !strings.Contains(notes[i].Msg, tt.notes[i]) {
					t.Errorf("note %d: %v, want %q", i, notes[i], tt.notes[i])
				}
			}
			for _, c := range tt.checks {
				got := p.Evaluate(c.facts, noon)
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("%s:\ngot  %+v\nwant %+v", c.name, got, c.want)
				}
			}
		})
	}
}
