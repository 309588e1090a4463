package shim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/execguard/execguard/detect"
)

// FuzzExecRequest: any exec request decodes into facts without a panic, and
// a process is known exactly when its spec decoded.
func FuzzExecRequest(f *testing.F) {
	f.Add([]byte(`{"args":["sh"],"terminal":true,"user":{"uid":0,"gid":0},"cwd":"/"}`), true, "/f/stdin")
	f.Add([]byte(`{"args":"sh"}`), false, "")
	f.Add([]byte(`{"user":{"uid":-1}}`), false, "binary:///x")
	f.Add([]byte(`null`), false, "file://")
	f.Fuzz(func(t *testing.T, spec []byte, terminal bool, stdin string) {
		req := &taskAPI.ExecProcessRequest{ID: "c1", ExecID: "e1", Terminal: terminal, Stdin: stdin, Spec: &anypb.Any{TypeUrl: specURL, Value: spec}}
		facts := execFacts(req, self, detect.Container{ID: "c1"}, true, "", "")
		if !facts.Process.Known && len(facts.Problems) == 0 {
			t.Fatalf("process unknown and no problem recorded for %q", spec)
		}
		if facts.Process.Known && len(facts.Problems) != 0 && !(facts.Process.Terminal && strings.Contains(facts.Problems[0], "hostile")) {
			t.Fatalf("process known and problems %q", facts.Problems)
		}
		if terminal && facts.Stdin != detect.StdinTerminal {
			t.Fatalf("terminal exec with stdin %q", facts.Stdin)
		}
		if _, err := detect.Encode(detect.Record{Facts: facts}); err != nil {
			t.Fatalf("encode: %v", err)
		}
	})
}

// FuzzCreateRequest: any bundle config decodes into facts without a panic.
func FuzzCreateRequest(f *testing.F) {
	f.Add([]byte(`{"process":{"terminal":true,"args":["sh"]},"annotations":{"io.kubernetes.cri.sandbox-name":"p"}}`), false, "")
	f.Add([]byte(`{"process":null,"annotations":{"a":1}}`), true, "/f/in")
	f.Add([]byte(`[]`), false, "")
	f.Fuzz(func(t *testing.T, config []byte, terminal bool, stdin string) {
		bundle := t.TempDir()
		if err := os.WriteFile(filepath.Join(bundle, "config.json"), config, 0o600); err != nil {
			t.Fatal(err)
		}
		facts := createFacts(&taskAPI.CreateTaskRequest{ID: "c1", Bundle: bundle, Terminal: terminal, Stdin: stdin}, "runc", self, "")
		if !facts.Process.Known && len(facts.Problems) == 0 {
			t.Fatalf("process unknown and no problem recorded for %q", config)
		}
		if _, err := detect.Encode(detect.Record{Facts: facts}); err != nil {
			t.Fatalf("encode: %v", err)
		}
	})
}
