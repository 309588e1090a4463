package kube

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCertificatesChainToTheCA(t *testing.T) {
	dir := t.TempDir()
	ca, err := newCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	for _, tc := range []struct {
		spec  certSpec
		usage x509.ExtKeyUsage
		host  string
	}{
		{certSpec{name: "server", cn: "api", server: true, ips: []net.IP{net.IPv4(127, 0, 0, 1)}, dns: []string{"kubernetes"}}, x509.ExtKeyUsageServerAuth, "127.0.0.1"},
		{certSpec{name: "client", cn: "system:node:n", orgs: []string{"system:nodes"}, client: true}, x509.ExtKeyUsageClientAuth, ""},
	} {
		crt, key, err := ca.issue(dir, 2, tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(key); err != nil {
			t.Errorf("%s: key: %v", tc.spec.name, err)
		}
		b, err := os.ReadFile(crt)
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			t.Fatalf("%s: no PEM block", tc.spec.name)
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: tc.host, KeyUsages: []x509.ExtKeyUsage{tc.usage}}); err != nil {
			t.Errorf("%s: %v", tc.spec.name, err)
		}
		if cert.Subject.CommonName != tc.spec.cn || strings.Join(cert.Subject.Organization, ",") != strings.Join(tc.spec.orgs, ",") {
			t.Errorf("%s: subject %v", tc.spec.name, cert.Subject)
		}
	}
}

func TestLauncherScriptCoversTunablesAndDirs(t *testing.T) {
	s := launcherScript(map[string]string{"/proc/sys/kernel/panic": "/x/0"}, []mountPoint{
		{Dir: "/var/lib/kubelet"},
		{Dir: "/var/log/containers", Upper: "/c/u", Work: "/c/w"},
	})
	for _, want := range []string{
		"mount --bind '/x/0' '/proc/sys/kernel/panic'\n",
		"mount -o remount,bind,ro '/proc/sys/kernel/panic'\n",
		"tmpfs '/var/lib/kubelet'\n",
		// An absent directory is made in an overlay of its parent, not on the host.
		"mount -t overlay overlay -o 'lowerdir=/var/log,upperdir=/c/u,workdir=/c/w' '/var/log'\nmkdir '/var/log/containers'\n",
		"tmpfs '/var/log/containers'\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("launcher script lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, hugepagesDir) {
		t.Errorf("huge pages hidden without being asked:\n%s", s)
	}
	if h := launcherScript(nil, nil, hugepagesDir); !strings.Contains(h, "mount -t tmpfs -o ro,mode=0755,size=4k tmpfs '"+hugepagesDir+"'\n") {
		t.Errorf("launcher script does not hide %s:\n%s", hugepagesDir, h)
	}
	if !strings.HasPrefix(s, "set -eu\n") || !strings.HasSuffix(s, "exec \"$@\"\n") {
		t.Errorf("launcher script must stop on the first failure and become the kubelet:\n%s", s)
	}
}

func TestKubeletConfigKeepsOffTheHost(t *testing.T) {
	cfg := kubeletConfig(kubeletConfigParams{NodeIP: "10.1.2.3", Port: 1, HealthzPort: 2, CRISocket: "/n/c.sock", CgroupRoot: "/egkube-x"})
	for _, want := range []string{
		"makeIPTablesUtilChains: false\n", "cgroupRoot: /egkube-x\n", "containerRuntimeEndpoint: unix:///n/c.sock\n",
		"readOnlyPort: 0\n", "  anonymous:\n    enabled: false\n", "imageGCHighThresholdPercent: 100\n",
		"nodefs.available: 1%\n",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("kubelet config lacks %q:\n%s", want, cfg)
		}
	}
}

func TestFreePortsAreDistinct(t *testing.T) {
	ports, err := freePorts("127.0.0.1", 6)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v", ports)
		}
		seen[p] = true
	}
}

func TestFindBinariesNamesWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := FindBinaries(dir)
	if err == nil || !strings.Contains(err.Error(), "etcd, kube-apiserver, kubelet, kube-scheduler missing") {
		t.Errorf("FindBinaries: %v", err)
	}
}
