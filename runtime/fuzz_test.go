package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/detecttest"
)

// The fuzz targets below run the wrapper's readers of untrusted input: the
// command line (runc and crun's callers, some of whose arguments come from
// users), the exec's process spec and the bundle config (both written from
// what a user or an image asks for). Their seeds are the captured runtime
// calls; `go test -fuzz FuzzX ./runtime/` grows testdata/fuzz/FuzzX.

func FuzzParse(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add(strings.Join(fx.argv, "\x00"))
	}
	f.Add("runc\x00--root\x00/r\x00exec\x00-t\x00--process=/p\x00id")
	f.Add("crun\x00exec\x00--tty\x00-d\x00id\x00sh")
	f.Add("runc\x00-")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		c, err := Parse(args)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("error without a message")
			}
			return
		}
		if len(c.Args) != len(args) {
			t.Fatalf("Call.Args has %d arguments, the command line %d", len(c.Args), len(args))
		}
		if _, err := c.Complete(); err != nil && err.Error() == "" {
			t.Fatal("Complete: error without a message")
		}
		// What the decision path derives from the command line alone.
		_ = logFile(c)
		_ = execID(c)
		_ = ArgvBundle(c)
		_, _ = callerOf(c)
	})
}

// encodeChecked encodes f as the wrapper would and checks what any reader
// of the log relies on: whole lines of valid JSON, one document per line,
// no raw control character that a terminal showing the log would act on.
func encodeChecked(t *testing.T, f detect.Facts) {
	t.Helper()
	d := detect.Decide(f, detect.DefaultPolicy())
	buf, err := detect.Encode(detect.Record{Facts: f, Decision: d, Host: detect.Host{Name: "node"}, Time: time.Unix(0, 0)})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if err := detecttest.CheckRecord(buf); err != nil {
		t.Fatal(err)
	}
}

func FuzzProcessSpec(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/runtime-calls/*/process.json")
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"terminal":true,"args":["sh","-c","\u001b[2J"],"env":["A=b"],"user":{"uid":4294967295}}`))
	f.Add([]byte(`{"args":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var facts detect.Facts
		facts.Operation = detect.OpExec
		facts.Process = processSpec("process.json", data, &facts)
		if !facts.Process.Known && len(facts.Problems) == 0 {
			t.Fatal("unreadable spec without a problem saying why")
		}
		encodeChecked(t, facts)
	})
}

func FuzzBundleConfig(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/runtime-calls/*/config.json")
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"process":{"terminal":true,"args":["/bin/sh"]},"annotations":{"io.kubernetes.cri.sandbox-namespace":"\u0000ns","io.kubernetes.pod.name":"p"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var facts detect.Facts
		facts.Operation = detect.OpContainerStart
		applyCreateConfig("config.json", data, &facts)
		if !facts.Process.Known && len(facts.Problems) == 0 {
			t.Fatal("config without a readable process and no problem saying why")
		}
		encodeChecked(t, facts)
	})
}
