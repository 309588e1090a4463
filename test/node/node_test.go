package node

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/pelletier/go-toml/v2"
)

func readTar(t *testing.T, r io.Reader) (map[string][]byte, map[string]*tar.Header) {
	t.Helper()
	files := map[string][]byte{}
	headers := map[string]*tar.Header{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, headers
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
		headers[h.Name] = h
	}
}

func TestWriteOCIArchive(t *testing.T) {
	busybox := filepath.Join(t.TempDir(), "busybox")
	if err := os.WriteFile(busybox, []byte("#!fake busybox\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	images := []Image{
		{Name: "docker.io/library/busybox:e2e", Cmd: []string{"sh"}},
		{Name: "localhost/execguard/pause:e2e", Entrypoint: []string{"/bin/sleep", "2147483647"}},
	}
	var buf bytes.Buffer
	if err := WriteOCIArchive(&buf, busybox, images...); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := WriteOCIArchive(&again, busybox, images...); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("archive is not reproducible")
	}

	files, _ := readTar(t, &buf)
	blob := func(d string) []byte {
		t.Helper()
		b, ok := files["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")]
		if !ok {
			t.Fatalf("blob %s missing", d)
		}
		sum := sha256.Sum256(b)
		if "sha256:"+hex.EncodeToString(sum[:]) != d {
			t.Fatalf("blob %s does not match its digest", d)
		}
		return b
	}
	if got := string(files["oci-layout"]); got != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %s", got)
	}
	var index ocispec.Index
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != len(images) {
		t.Fatalf("index has %d manifests, want %d", len(index.Manifests), len(images))
	}
	for i, img := range images {
		desc := index.Manifests[i]
		if got := desc.Annotations["io.containerd.image.name"]; got != img.Name {
			t.Errorf("manifest %d named %q, want %q", i, got, img.Name)
		}
		var m ocispec.Manifest
		if err := json.Unmarshal(blob(desc.Digest.String()), &m); err != nil {
			t.Fatal(err)
		}
		var cfg ocispec.Image
		if err := json.Unmarshal(blob(m.Config.Digest.String()), &cfg); err != nil {
			t.Fatal(err)
		}
		if strings.Join(cfg.Config.Entrypoint, " ") != strings.Join(img.Entrypoint, " ") ||
			strings.Join(cfg.Config.Cmd, " ") != strings.Join(img.Cmd, " ") {
			t.Errorf("%s: config entrypoint %q cmd %q", img.Name, cfg.Config.Entrypoint, cfg.Config.Cmd)
		}
		if len(m.Layers) != 1 || len(cfg.RootFS.DiffIDs) != 1 || m.Layers[0].Digest != cfg.RootFS.DiffIDs[0] {
			t.Fatalf("%s: want one uncompressed layer whose digest is its diff id", img.Name)
		}
		layer, headers := readTar(t, bytes.NewReader(blob(m.Layers[0].Digest.String())))
		if string(layer["bin/busybox"]) != "#!fake busybox\n" {
			t.Errorf("%s: bin/busybox is not the given binary", img.Name)
		}
		for _, applet := range []string{"sh", "sleep", "id", "echo", "cat", "ls", "true", "tty", "touch", "test"} {
			h := headers["bin/"+applet]
			if h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
				t.Errorf("%s: bin/%s is not a symlink to busybox", img.Name, applet)
			}
		}
		if h := headers["tmp/"]; h == nil || h.Mode != 0o1777 {
			t.Errorf("%s: tmp/ missing or not sticky", img.Name)
		}
	}
}

func TestContainerdConfig(t *testing.T) {
	l := layout{Dir: "/tmp/egnode-x"}
	text, err := containerdConfig(l, configParams{
		RuntimeBinary: "/opt/eg/execguard-runc",
		Snapshotter:   "overlayfs",
		SandboxImage:  PauseImage,
	})
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := toml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatalf("config is not TOML: %v\n%s", err, text)
	}
	get := func(path ...string) any {
		var cur any = cfg
		for _, k := range path {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[k]
		}
		return cur
	}
	const (
		cri  = "io.containerd.cri.v1.runtime"
		runc = "runc"
	)
	tests := []struct {
		path []string
		want any
	}{
		{[]string{"version"}, int64(3)},
		{[]string{"root"}, "/tmp/egnode-x/root"},
		{[]string{"state"}, "/tmp/egnode-x/state"},
		{[]string{"grpc", "address"}, "/tmp/egnode-x/containerd.sock"},
		{[]string{"plugins", "io.containerd.nri.v1.nri", "disable"}, false},
		{[]string{"plugins", "io.containerd.nri.v1.nri", "socket_path"}, "/tmp/egnode-x/nri/nri.sock"},
		{[]string{"plugins", cri, "restrict_oom_score_adj"}, true},
		{[]string{"plugins", cri, "containerd", "runtimes", runc, "runtime_type"}, "io.containerd.runc.v2"},
		{[]string{"plugins", cri, "containerd", "runtimes", runc, "options", "BinaryName"}, "/opt/eg/execguard-runc"},
		{[]string{"plugins", cri, "containerd", "runtimes", runc, "options", "Root"}, "/tmp/egnode-x/state/runc"},
		{[]string{"plugins", "io.containerd.cri.v1.images", "snapshotter"}, "overlayfs"},
		{[]string{"plugins", "io.containerd.cri.v1.images", "pinned_images", "sandbox"}, PauseImage},
	}
	for _, tc := range tests {
		if got := get(tc.path...); got != tc.want {
			t.Errorf("%s = %#v, want %#v", strings.Join(tc.path, "."), got, tc.want)
		}
	}
	unpack, _ := get("plugins", "io.containerd.transfer.v1.local", "unpack_config").([]any)
	if len(unpack) != 1 || unpack[0].(map[string]any)["snapshotter"] != "overlayfs" {
		t.Errorf("transfer unpack_config = %#v, want one entry for overlayfs", unpack)
	}
	if imports, ok := get("imports").([]any); !ok || len(imports) != 0 {
		t.Errorf("imports = %#v, want an empty list", get("imports"))
	}

	if _, err := containerdConfig(layout{Dir: "/tmp/it's"}, configParams{}); err == nil {
		t.Error("a quote in a path was accepted")
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"crictl", "exec", "-it", "abc"}, "crictl exec -it abc"},
		{[]string{"sh", "-c", "tty && echo ok"}, "sh -c 'tty && echo ok'"},
		{[]string{"echo", "it's"}, `echo 'it'\''s'`},
		{[]string{"echo", ""}, "echo ''"},
		{[]string{"/usr/local/bin/crictl", "--config=/tmp/x.yaml"}, "/usr/local/bin/crictl --config=/tmp/x.yaml"},
	}
	for _, tc := range tests {
		if got := ShellQuote(tc.argv...); got != tc.want {
			t.Errorf("ShellQuote(%q) = %s, want %s", tc.argv, got, tc.want)
		}
	}
}

func TestUnescapeMountPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/tmp/egnode-1/root", "/tmp/egnode-1/root"},
		{`/tmp/a\040b`, "/tmp/a b"},
		{`/tmp/tab\011x\134y`, "/tmp/tab\tx\\y"},
		{`/tmp/end\04`, `/tmp/end\04`},
	}
	for _, tc := range tests {
		if got := unescapeMountPath(tc.in); got != tc.want {
			t.Errorf("unescapeMountPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRuntimeReady(t *testing.T) {
	tests := []struct {
		name    string
		info    string
		wantErr bool
	}{
		{"ready", `{"status":{"conditions":[{"type":"RuntimeReady","status":true},{"type":"NetworkReady","status":false}]}}`, false},
		{"not ready", `{"status":{"conditions":[{"type":"RuntimeReady","status":false,"reason":"x"}]}}`, true},
		{"no condition", `{"status":{"conditions":[]}}`, true},
		{"not json", `level=fatal`, true},
	}
	for _, tc := range tests {
		if err := RuntimeReady([]byte(tc.info)); (err != nil) != tc.wantErr {
			t.Errorf("%s: RuntimeReady error = %v, want error %v", tc.name, err, tc.wantErr)
		}
	}
}

func TestContainerdConfigShim(t *testing.T) {
	l := layout{Dir: "/tmp/egnode-x"}
	// execguard install's shape: containerd's runc type with execguard's
	// shim as runtime_path; or the execguard type when asked for.
	for _, tc := range []struct{ shim, typ, wantType string }{
		{"", "", "io.containerd.runc.v2"},
		{"/opt/eg/containerd-shim-execguard-v2", "", "io.containerd.runc.v2"},
		{"/opt/eg/containerd-shim-execguard-v2", "io.containerd.execguard.v2", "io.containerd.execguard.v2"},
	} {
		shim := tc.shim
		text, err := containerdConfig(l, configParams{RuntimeBinary: "/usr/sbin/runc", ShimPath: shim, RuntimeType: tc.typ, Snapshotter: "overlayfs", SandboxImage: PauseImage})
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Plugins map[string]struct {
				Containerd struct {
					Runtimes map[string]struct {
						Type    string            `toml:"runtime_type"`
						Path    string            `toml:"runtime_path"`
						Options map[string]string `toml:"options"`
					} `toml:"runtimes"`
				} `toml:"containerd"`
			} `toml:"plugins"`
		}
		if err := toml.Unmarshal([]byte(text), &cfg); err != nil {
			t.Fatalf("config is not TOML: %v\n%s", err, text)
		}
		runc := cfg.Plugins["io.containerd.cri.v1.runtime"].Containerd.Runtimes["runc"]
		wantType := tc.wantType
		if runc.Type != wantType || runc.Path != shim || runc.Options["BinaryName"] != "/usr/sbin/runc" {
			t.Errorf("shim %q: runc handler %+v, want type %s, path %q, BinaryName /usr/sbin/runc", shim, runc, wantType, shim)
		}
	}
}
