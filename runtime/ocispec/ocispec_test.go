package ocispec

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fromGo is what Go's decoder (runc's) reads of the same fields.
func fromGo(p *specs.Process) *Process {
	if p == nil {
		return nil
	}
	out := &Process{Terminal: p.Terminal, Args: p.Args, Env: p.Env, Cwd: p.Cwd, UID: p.User.UID, GID: p.User.GID, Username: p.User.Username}
	if p.ConsoleSize != nil {
		out.ConsoleHeight, out.ConsoleWidth = uint32(p.ConsoleSize.Height), uint32(p.ConsoleSize.Width)
	}
	return out
}

// TestConsoleAndUsername: consoleSize and user.username read as Go's
// decoder reads them.
func TestConsoleAndUsername(t *testing.T) {
	for _, spec := range []string{
		`{"terminal":true,"args":["sh"],"cwd":"/","user":{"uid":1000,"gid":1000,"username":"app"},"consoleSize":{"height":40,"width":132}}`,
		`{"terminal":true,"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}}`,
	} {
		var want specs.Process
		if err := json.Unmarshal([]byte(spec), &want); err != nil {
			t.Fatal(err)
		}
		got, err := DecodeProcess(strings.NewReader(spec))
		if err != nil || !reflect.DeepEqual(&got, fromGo(&want)) {
			t.Errorf("DecodeProcess(%s) = %+v, %v; want %+v", spec, got, err, fromGo(&want))
		}
	}
}

// TestCapturedSpecs: every process spec and bundle config captured from
// containerd, CRI-O, Podman, runc and crun reads as Go's decoder reads it.
func TestCapturedSpecs(t *testing.T) {
	files, _ := filepath.Glob("../testdata/runtime-calls/*/*.json")
	n := 0
	for _, f := range files {
		base := filepath.Base(f)
		if base != "process.json" && base != "config.json" {
			continue
		}
		n++
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(filepath.Dir(f))+"/"+base, func(t *testing.T) {
			if base == "process.json" {
				var want specs.Process
				if err := json.Unmarshal(data, &want); err != nil {
					t.Fatal(err)
				}
				got, err := DecodeProcess(bytes.NewReader(data))
				if err != nil || !reflect.DeepEqual(&got, fromGo(&want)) {
					t.Errorf("DecodeProcess = %+v, %v; want %+v", got, err, fromGo(&want))
				}
				return
			}
			var want struct {
				Process     *specs.Process    `json:"process"`
				Annotations map[string]string `json:"annotations"`
			}
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			got, err := DecodeConfig(bytes.NewReader(data))
			if err != nil || !reflect.DeepEqual(got.Process, fromGo(want.Process)) || !reflect.DeepEqual(got.Annotations, want.Annotations) {
				t.Errorf("DecodeConfig = %+v, %v; want %+v %v", got, err, fromGo(want.Process), want.Annotations)
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d captured specs found", n)
	}
}

// TestHostileSpecs: the shapes an attacker who writes a spec (a pod's
// author, through its env or args) or a runtime disagreement would use.
func TestHostileSpecs(t *testing.T) {
	pad := strings.Repeat(`\u003c`, 1<<20) // 6 MiB of JSON, 1 MiB of '<'
	tests := []struct {
		name    string
		doc     string
		want    *Process
		wantErr error  // errors.Is
		errPart string // or a part of the message
	}{
		{name: "terminal after 6 MiB of padded env (the size-cap attack)",
			doc:  `{"process":{"env":["PAD=` + pad + `","TERM=xterm"],"terminal":true,"args":["sh"]}}`,
			want: &Process{Terminal: true, Args: []string{"sh"}, Env: []string{"PAD=" + strings.Repeat("<", 1<<20), "TERM=xterm"}}},
		{name: "terminal after 50 MiB of skipped mounts",
			doc:  `{"mounts":[` + strings.Repeat(`{"destination":"/x","options":["ro"]},`, 1<<20) + `{}],"process":{"terminal":true}}`,
			want: &Process{Terminal: true}},
		{name: "terminal twice", doc: `{"process":{"terminal":true,"terminal":false}}`, wantErr: ErrAmbiguous},
		{name: "terminal in another case", doc: `{"process":{"terminal":true,"Terminal":false}}`, wantErr: ErrAmbiguous},
		{name: "Terminal alone", doc: `{"process":{"Terminal":true}}`, wantErr: ErrAmbiguous},
		{name: "process with a long s (Go reads it as process)", doc: `{"process":{"terminal":false},"proce\u017f\u017f":{"terminal":true}}`, wantErr: ErrAmbiguous},
		{name: "args with a long s", doc: `{"process":{"arg\u017f":["sh"]}}`, wantErr: ErrAmbiguous},
		{name: "process twice", doc: `{"process":{"terminal":false},"process":{"terminal":true}}`, wantErr: ErrAmbiguous},
		{name: "uid in another case", doc: `{"process":{"user":{"uid":0,"UID":1000}}}`, wantErr: ErrAmbiguous},
		{name: "annotation twice", doc: `{"annotations":{"io.kubernetes.cri.container-name":"a","io.kubernetes.cri.container-name":"b"}}`, wantErr: ErrAmbiguous},
		{name: "terminal as a string", doc: `{"process":{"terminal":"true"}}`, errPart: "want true or false"},
		{name: "args not strings", doc: `{"process":{"args":["sh",1]}}`, errPart: "element 1"},
		{name: "negative uid", doc: `{"process":{"user":{"uid":-1}}}`, errPart: "not a 32-bit"},
		{name: "huge uid", doc: `{"process":{"user":{"uid":4294967296}}}`, errPart: "not a 32-bit"},
		{name: "truncated", doc: `{"process":{"terminal":tr`, errPart: "process"},
		{name: "cut after the process", doc: `{"process":{"terminal":true},"mounts":[`, errPart: "unexpected EOF"},
		{name: "trailing data", doc: `{"process":{}} {"process":{"terminal":true}}`, errPart: "after the end"},
		{name: "a comment, which crun's parser reads", doc: `{"process":{/* crun reads this */"terminal":true,"args":["sh"]}}`, wantErr: ErrMalformed},
		{name: "not an object", doc: `["process"]`, errPart: "want an object"},
		{name: "null", doc: `null`, errPart: "null"},
		{name: "null process", doc: `{"process":null}`, want: nil},
		{name: "null fields", doc: `{"process":{"terminal":null,"args":null,"user":null}}`, want: &Process{}},
		{name: "unknown keys in any case are skipped", doc: `{"Mounts":[1,{"a":[2]}],"process":{"Rlimits":[],"terminal":true}}`, want: &Process{Terminal: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeConfig(strings.NewReader(tt.doc))
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.errPart != "":
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("err = %v, want it to say %q", err, tt.errPart)
				}
				// Whatever is wrong with the document itself is malformed:
				// decided as the worst case, not as a fault.
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("err = %v, want it malformed", err)
				}
			default:
				if err != nil || !reflect.DeepEqual(c.Process, tt.want) {
					t.Fatalf("DecodeConfig = %+v, %v; want %+v", c.Process, err, tt.want)
				}
			}
		})
	}
}

// TestTooLarge: kept content over MaxKept is an error, not a cut spec.
func TestTooLarge(t *testing.T) {
	r := io.MultiReader(strings.NewReader(`{"args":["`), strings.NewReader(strings.Repeat("a", MaxKept+1)), strings.NewReader(`"],"terminal":false}`))
	if _, err := DecodeProcess(r); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

// FuzzDecodeConfig holds the decoder to Go's: whatever it accepts reads as
// encoding/json reads it (runc's view), and what it refuses as ambiguous
// has a deciding key twice or in another case.
func FuzzDecodeConfig(f *testing.F) {
	files, _ := filepath.Glob("../testdata/runtime-calls/*/config.json")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"process":{"terminal":true,"Terminal":false}}`))
	f.Add([]byte(`{"process":{"user":{"uid":1,"gid":2},"args":["sh","-c","x"],"env":["A=b"],"cwd":"/"},"annotations":{"a":"b"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return
		}
		var want struct {
			Process     *specs.Process    `json:"process"`
			Annotations map[string]string `json:"annotations"`
		}
		if json.Unmarshal(data, &want) != nil {
			// Go refuses what this accepted only where this skipped a
			// value Go checks against its type (ids past the fields read).
			return
		}
		if !reflect.DeepEqual(got.Process, fromGo(want.Process)) {
			t.Fatalf("process %+v, Go reads %+v", got.Process, fromGo(want.Process))
		}
		if len(got.Annotations)+len(want.Annotations) > 0 && !reflect.DeepEqual(got.Annotations, want.Annotations) {
			t.Fatalf("annotations %v, Go reads %v", got.Annotations, want.Annotations)
		}
	})
}

// FuzzDecodeProcess: as FuzzDecodeConfig, for an exec's process spec.
func FuzzDecodeProcess(f *testing.F) {
	files, _ := filepath.Glob("../testdata/runtime-calls/*/process.json")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeProcess(bytes.NewReader(data))
		if err != nil {
			return
		}
		var want specs.Process
		if json.Unmarshal(data, &want) != nil {
			return
		}
		if !reflect.DeepEqual(&got, fromGo(&want)) {
			t.Fatalf("process %+v, Go reads %+v", got, fromGo(&want))
		}
	})
}

// BenchmarkDecodeConfig reads a captured containerd bundle config, as the
// wrapper does on each create and the shim on each Create.
func BenchmarkDecodeConfig(b *testing.B) {
	data, err := os.ReadFile("../testdata/runtime-calls/containerd-v2-create-tty-container/config.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := DecodeConfig(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalConfig is the same read with encoding/json into the
// fields a decision needs, for comparison.
func BenchmarkUnmarshalConfig(b *testing.B) {
	data, err := os.ReadFile("../testdata/runtime-calls/containerd-v2-create-tty-container/config.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var v struct {
			Process     *specs.Process    `json:"process"`
			Annotations map[string]string `json:"annotations"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}
