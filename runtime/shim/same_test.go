package shim

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/runtime"
)

// For the same exec, the shim's document is the wrapper's but for what only
// the shim knows: its own name (agent.name), the caller it is (the shim
// itself, where the wrapper sees its parent shim), and where it saw stdin
// (execguard.stdin_source: fd 0 for the wrapper, the request for the shim;
// execguard.stdin itself is the same).
func TestExecDocumentMatchesWrapper(t *testing.T) {
	dir := t.TempDir()
	bundle := filepath.Join(dir, "k8s.io", "c1")
	os.MkdirAll(bundle, 0o700)
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(podConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	proc := &specs.Process{Args: []string{"/bin/sh", "-c", "echo $TOKEN"}, Env: []string{"PATH=/bin", "TOKEN=secret"}, Cwd: "/work", Terminal: true, User: specs.User{UID: 1000, GID: 100}}
	pj, _ := json.Marshal(proc)
	procFile := filepath.Join(dir, "process.json")
	os.WriteFile(procFile, pj, 0o600)

	// containerd's runc shim runs: runc --root R --log B/log.json
	// --log-format json exec --process P --detach --pid-file B/<exec>.pid
	// --console-socket S <id>
	call, err := runtime.Parse([]string{"/usr/local/bin/execguard-runc", "--root", filepath.Join(dir, "runc"), "--log", filepath.Join(bundle, "log.json"),
		"--log-format", "json", "exec", "--process", procFile, "--detach", "--pid-file", filepath.Join(bundle, "x1.pid"),
		"--console-socket", filepath.Join(dir, "pty.sock"), "c1"})
	if err != nil {
		t.Fatal(err)
	}
	wrapperFacts := runtime.Gather(call, "runc", "")

	g := newGuardEnv(t, "alert", "open").g
	g.create(&taskAPI.CreateTaskRequest{ID: "c1", Bundle: bundle}, "runc")
	g.mu.Lock()
	ctr := g.ctrs["c1"]
	g.mu.Unlock()
	shimFacts := execFacts(&taskAPI.ExecProcessRequest{ID: "c1", ExecID: "x1", Terminal: true, Stdin: "/f/x1-stdin", Spec: specAny(t, proc)}, self, ctr, true, dir, "")

	encode := func(f detect.Facts, agent string) map[string]any {
		rec := detect.Record{Facts: f, Decision: detect.Decide(f, detect.DefaultPolicy()), Policy: detect.DefaultPolicy(),
			Host: detect.Host{Name: "n1", ID: "h1"}, Time: time.Unix(1700000000, 5), Agent: agent}
		buf, err := detect.Encode(rec)
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.NewDecoder(bytes.NewReader(buf)).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	w, s := encode(wrapperFacts, ""), encode(shimFacts, Agent)
	if get(s, "agent.name") != Agent || get(w, "agent.name") != "execguard-runtime" {
		t.Errorf("agent names %v, %v", get(w, "agent.name"), get(s, "agent.name"))
	}
	if get(s, "process.parent.pid") != float64(self.PID) {
		t.Errorf("shim's process.parent.pid %v, want its own %d", get(s, "process.parent.pid"), self.PID)
	}
	if get(s, "execguard.stdin") != "terminal" || get(w, "execguard.stdin") != "terminal" {
		t.Errorf("execguard.stdin %v (wrapper), %v (shim), want terminal", get(w, "execguard.stdin"), get(s, "execguard.stdin"))
	}
	for _, d := range []map[string]any{w, s} {
		delete(d["agent"].(map[string]any), "name")
		delete(d["process"].(map[string]any), "parent")
		delete(d["execguard"].(map[string]any), "stdin_source")
	}
	wj, _ := json.Marshal(w)
	sj, _ := json.Marshal(s)
	if string(wj) != string(sj) {
		t.Errorf("documents differ beyond the shim's own fields:\nwrapper %s\nshim    %s", wj, sj)
	}
}
