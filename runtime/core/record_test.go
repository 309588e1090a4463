package core

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/policy/policyfile"
)

const recordPolicy = `process:
  selectors:
    - name: shop
      kubernetesNamespace: [shop]
  responses:
    - match: [shop]
      actions: [alert, record]
`

// TestDecideRecord checks what happens to a terminal exec the policy wants
// recorded: the front's hook sets the recording up, and when it cannot, the
// fail mode decides.
func TestDecideRecord(t *testing.T) {
	hookErr := errors.New("no fifo")
	tests := []struct {
		name       string
		terminal   bool
		namespace  string
		mode       detect.FailMode
		hook       func(detect.Record) error // nil: no hook
		wantCalled bool
		wantBlock  bool
		wantRec    bool   // execguard.recorded
		wantError  string // in error.message
	}{
		{"recorded", true, "shop", detect.FailClosed, func(detect.Record) error { return nil }, true, false, true, ""},
		{"not asked for", true, "dev", detect.FailClosed, func(detect.Record) error { return nil }, false, false, false, ""},
		{"no terminal", false, "shop", detect.FailClosed, func(detect.Record) error { return nil }, false, false, false, ""},
		{"hook fails, closed", true, "shop", detect.FailClosed, func(detect.Record) error { return hookErr }, true, true, false, "terminal recording: no fifo"},
		{"hook fails, open", true, "shop", detect.FailOpen, func(detect.Record) error { return hookErr }, true, false, false, "terminal recording: no fifo"},
		{"front cannot record, closed", true, "shop", detect.FailClosed, nil, false, true, false, "this front cannot record"},
		{"front cannot record, open", true, "shop", detect.FailOpen, nil, false, false, false, "this front cannot record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pol := filepath.Join(dir, "policy.yaml")
			if err := os.WriteFile(pol, []byte(recordPolicy), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := config.Default()
			cfg.EventLog, cfg.StateDir, cfg.PolicyFile, cfg.FailMode = filepath.Join(dir, "events.ndjson"), filepath.Join(dir, "state"), pol, tt.mode
			f := detect.Facts{Operation: detect.OpExec, Subcommand: "exec", ExecID: "x1", ExecKind: detect.ExecEngine,
				Process:   detect.Process{Known: true, Terminal: tt.terminal, Args: []string{"/bin/sh"}},
				Container: detect.Container{ID: "c1", Name: "app", PodName: "web-1", PodNamespace: tt.namespace}}
			called := false
			in := Input{Facts: f, Config: cfg, Sources: FileSources{Parse: policyfile.ParseSpec}, Agent: "test"}
			if tt.hook != nil {
				in.Record = func(r detect.Record) error {
					called = true
					if r.Facts.ExecID != "x1" || detect.ProcessEntityID(r) == "" {
						t.Errorf("hook got record of exec %q", r.Facts.ExecID)
					}
					return tt.hook(r)
				}
			}
			res := Decide(in)
			if called != tt.wantCalled || res.Decision.Block != tt.wantBlock {
				t.Errorf("hook called %v block %v (%s), want %v %v", called, res.Decision.Block, res.Decision.Reason, tt.wantCalled, tt.wantBlock)
			}
			if tt.wantBlock && !strings.Contains(res.Decision.Reason, "recorded") {
				t.Errorf("reason %q does not say why", res.Decision.Reason)
			}
			doc := firstDoc(t, cfg.EventLog)
			var eg struct {
				Execguard struct {
					Recorded bool `json:"recorded"`
				} `json:"execguard"`
				Error struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(doc, &eg); err != nil {
				t.Fatal(err)
			}
			if eg.Execguard.Recorded != tt.wantRec || !strings.Contains(eg.Error.Message, tt.wantError) {
				t.Errorf("event recorded %v error %q, want %v %q", eg.Execguard.Recorded, eg.Error.Message, tt.wantRec, tt.wantError)
			}
		})
	}
}

func firstDoc(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		t.Fatalf("%s: no event", path)
	}
	return append([]byte(nil), sc.Bytes()...)
}
