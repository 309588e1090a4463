package shim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	runtimeoptions "github.com/containerd/containerd/api/types/runtimeoptions/v1"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/types/known/anypb"
)

func TestRuncOptions(t *testing.T) {
	mustAny := func(v any) *anypb.Any {
		a, err := typeurl.MarshalAnyToProto(v)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	file := filepath.Join(t.TempDir(), "runc.toml")
	os.WriteFile(file, []byte("BinaryName = '/opt/runc'\nRoot = '/run/r'\n"), 0o600)
	tests := []struct {
		name   string
		in     *anypb.Any
		binary string
		root   string
		err    string
	}{
		{"none", nil, "", "", ""},
		{"runc's own", mustAny(&runcoptions.Options{BinaryName: "/usr/sbin/runc", Root: "/run/x"}), "/usr/sbin/runc", "/run/x", ""},
		{"CRI's TOML table", mustAny(&runtimeoptions.Options{ConfigBody: []byte("BinaryName = '/usr/sbin/runc'\nRoot = '/run/eg'\nSystemdCgroup = false\nUnknownKey = 1\n")}), "/usr/sbin/runc", "/run/eg", ""},
		{"config file", mustAny(&runtimeoptions.Options{ConfigPath: file}), "/opt/runc", "/run/r", ""},
		{"missing config file", mustAny(&runtimeoptions.Options{ConfigPath: file + ".none"}), "", "", "no such file"},
		{"bad TOML", mustAny(&runtimeoptions.Options{ConfigBody: []byte("BinaryName = ")}), "", "", "runc options from TOML"},
		{"other type", mustAny(&runcoptions.CheckpointOptions{}), "", "", "neither runc's options"},
		{"unknown type", &anypb.Any{TypeUrl: "example.com/x", Value: []byte{1}}, "", "", "runtime options (example.com/x)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, binary, err := runcOptions(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if binary != tt.binary {
				t.Errorf("binary %q, want %q", binary, tt.binary)
			}
			if tt.in == nil {
				if out != nil {
					t.Errorf("options %v from none", out)
				}
				return
			}
			v, err := typeurl.UnmarshalAny(out)
			if err != nil {
				t.Fatal(err)
			}
			o, ok := v.(*runcoptions.Options)
			if !ok || o.BinaryName != tt.binary || o.Root != tt.root {
				t.Errorf("options %T %v, want runc's with %s, %s", v, v, tt.binary, tt.root)
			}
		})
	}
}

func TestRuntimeName(t *testing.T) {
	for in, want := range map[string]string{"": "runc", "/usr/sbin/runc": "runc", "/opt/eg/execguard-runc": "runc", "crun": "crun", "/x/execguard-": "execguard-"} {
		if got := runtimeName(in); got != want {
			t.Errorf("runtimeName(%q) = %q, want %q", in, got, want)
		}
	}
}
