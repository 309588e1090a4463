package main

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/execguard/execguard/install/kubernetes/webhook"
)

func TestWebhookCerts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	code, out, errOut := runCLI(t, "webhook", "certs", "--out", dir, "--ip", "127.0.0.1", "--dns", "hook.example")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out))
	if err != nil || !bytes.Equal(bundle, ca) {
		t.Errorf("printed caBundle %q is not ca.crt in base64 (%v)", out, err)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")); err != nil {
		t.Error(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "tls.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("tls.key: %v %v, want mode 0600", fi, err)
	}
	for _, bad := range [][]string{{"webhook", "certs"}, {"webhook", "certs", "--out", dir, "--ip", "nope"}} {
		if code, _, _ := runCLI(t, bad...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", bad, code, exitUsage)
		}
	}
}

// The Deployment's command line is one the webhook command accepts.
func TestWebhookManifestFlags(t *testing.T) {
	data, err := webhook.Manifests.ReadFile("10-deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := yaml.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	argv := d.Spec.Template.Spec.Containers[0].Command
	if len(argv) < 2 || filepath.Base(argv[0]) != "execguard" || argv[1] != "webhook" {
		t.Fatalf("command %v is not execguard webhook", argv)
	}
	a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	cmd := a.webhookCommand()
	if err := cmd.ParseFlags(argv[2:]); err != nil {
		t.Errorf("execguard webhook refuses the Deployment's flags %v: %v", argv[2:], err)
	}
	if len(cmd.Flags().Args()) != 0 {
		t.Errorf("arguments left over: %v", cmd.Flags().Args())
	}
}

// A webhook whose policy is invalid does not start, and says why.
func TestWebhookRefusesInvalidPolicy(t *testing.T) {
	code, _, errOut := runCLI(t, "webhook", "--policy", "testdata/invalid.yaml", "--listen", "127.0.0.1:0")
	if code != exitPolicy || !strings.Contains(errOut, "webhook not started") || !strings.Contains(errOut, "invalid.yaml") {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
}

// policy test decides as the webhook does when given who asks, and as the
// runtime does otherwise.
func TestPolicyTestIdentity(t *testing.T) {
	base := []string{"policy", "test", "testdata/sre.yaml", "--namespace", "demo", "--pod", "web", "--container", "app", "--tty", "--time", "2026-03-14T12:00:00Z"}
	tests := []struct {
		name   string
		args   []string
		result string
		call   string
	}{
		{"runtime: nobody is in sre", nil, "result:     block", "at 2026-03-14T12:00:00Z\n"},
		{"API: bob in sre", []string{"--kubernetes-user", "bob", "--kubernetes-group", "sre"}, "result:     none", `asked at the API by user "bob" in groups sre`},
		{"API: alice in dev", []string{"--kubernetes-user", "alice", "--kubernetes-group", "dev", "--kubernetes-group", "system:authenticated"}, "result:     block", `by user "alice" in groups dev, system:authenticated`},
		{"API: a group alone", []string{"--kubernetes-group", "sre"}, "result:     none", `by user "" in groups sre`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append(append([]string(nil), base...), tt.args...)...)
			if code != 0 || !strings.Contains(out, tt.result) || !strings.Contains(out, tt.call) {
				t.Errorf("exit %d, want %q and %q in:\n%s%s", code, tt.result, tt.call, out, errOut)
			}
		})
	}
}
