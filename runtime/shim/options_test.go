package shim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	runtimeoptions "github.com/containerd/containerd/api/types/runtimeoptions/v1"
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/manager"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/proto"
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

// containerd asks the shim for its runtime info with the handler's options:
// as CRI passes them for this runtime type (a TOML table), the runc shim's
// manager would refuse them; translated, it answers with runc's features.
func TestInfoTranslatesOptions(t *testing.T) {
	if _, err := os.Stat("/usr/sbin/runc"); err != nil {
		t.Fatalf("runc required: %v", err)
	}
	in, err := typeurl.MarshalAnyToProto(&runtimeoptions.Options{ConfigBody: []byte("BinaryName = '/usr/sbin/runc'\n")})
	if err != nil {
		t.Fatal(err)
	}
	data, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	m := newShimManager(manager.NewShimManager(RuntimeType))
	info, err := m.Info(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	v, err := typeurl.UnmarshalAny(info.GetOptions())
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := v.(*runcoptions.Options); !ok || o.BinaryName != "/usr/sbin/runc" || info.GetName() != RuntimeType || len(info.GetFeatures().GetValue()) == 0 {
		t.Errorf("info %v, options %v: want runc's options, the runtime type and runc's features", info, v)
	}
	if _, err := (newShimManager(manager.NewShimManager(RuntimeType))).Info(context.Background(), bytes.NewReader([]byte("\xff\xff"))); err == nil {
		t.Errorf("Info of undecodable options: no error")
	}
}
