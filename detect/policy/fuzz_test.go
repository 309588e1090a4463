package policy

import (
	"encoding/binary"
	"hash/fnv"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/execguard/execguard/detect"
)

// FuzzParse: no policy file makes the parser panic; an accepted policy
// evaluates, and survives the trip through the compiler helper's answer
// (what the wrapper reads) with the same meaning.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/d4c/*.yaml")
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(selectorPolicy("processName: [sh]")))
	f.Add(genPolicy(5, 3, 1))
	f.Add(DefaultYAML())
	f.Add([]byte("process:\n  selectors: [{name: a, maintenanceWindow: [{days: [mon], hours: '22:00-02:00'}]}]\n  responses: [{match: [a], actions: [alert, block]}]\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseSpecYAML("fuzz.yaml", data)
		if (s == nil) == (err == nil) {
			t.Fatalf("spec %v and error %v", s, err)
		}
		if s == nil {
			return
		}
		p, err := Compile("fuzz.yaml", data, s)
		if err != nil {
			t.Fatalf("spec accepted, then not compiled: %v", err)
		}
		s2, err := DecodeHelperAnswer(EncodeHelperAnswer(s))
		if err != nil {
			t.Fatalf("helper answer of an accepted spec: %v", err)
		}
		p2, err := Compile("fuzz.yaml", data, s2)
		if err != nil {
			t.Fatalf("helper answer compiled: %v", err)
		}
		for _, fc := range fuzzFacts() {
			if a, b := p.Evaluate(fc, noon), p2.Evaluate(fc, noon); !sameResult(a, b) {
				t.Fatalf("policy and its helper answer disagree: %+v vs %+v", a, b)
			}
		}
	})
}

// FuzzHelperAnswer: whatever the compiler helper (or anything in its place)
// answers, the wrapper's decoder returns a spec or an error, never panics.
// The fuzzer varies the answer's body and the target seals it with the
// right checksum, so the decoder itself is what gets explored.
func FuzzHelperAnswer(f *testing.F) {
	for _, data := range [][]byte{DefaultYAML(), genPolicy(5, 3, 1)} {
		s, err := parseSpecYAML("seed.yaml", data)
		if err != nil {
			f.Fatal(err)
		}
		answer := EncodeHelperAnswer(s)
		f.Add(answer[len(HelperMagic) : len(answer)-8])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		answer := append([]byte(HelperMagic), body...)
		h := fnv.New64a()
		h.Write(answer)
		answer = binary.LittleEndian.AppendUint64(answer, h.Sum64())
		s, err := DecodeHelperAnswer(answer)
		if err != nil {
			return
		}
		if p, err := Compile("answer", body, s); err == nil {
			for _, fc := range fuzzFacts() {
				p.Evaluate(fc, noon)
			}
		}
	})
}

// fuzzFacts are a few execs and container starts for fuzzed policies to
// evaluate.
func fuzzFacts() []detect.Facts {
	return []detect.Facts{
		facts(tty),
		facts(),
		facts(tty, ns("kube-system"), pod("p"), ctr("c"), img("docker.io/library/busybox:1"), uid(0), args("sh", "-c", "id"), labels("app", "web")),
		facts(op(detect.OpContainerStart), tty, args("/bin/bash")),
	}
}

func sameResult(a, b Result) bool { return reflect.DeepEqual(a, b) }
