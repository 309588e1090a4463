package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestGenerateCerts(t *testing.T) {
	tests := []struct {
		name    string
		req     CertRequest
		verify  string // a name the certificate must be valid for
		invalid string // one it must not be
		err     string
	}{
		{name: "service", req: CertRequest{Service: "execguard-webhook", Namespace: "execguard", Validity: time.Hour},
			verify: "execguard-webhook.execguard.svc", invalid: "execguard-webhook.other.svc"},
		{name: "ip", req: CertRequest{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Validity: time.Hour}, verify: "127.0.0.1", invalid: "127.0.0.2"},
		{name: "nothing named", req: CertRequest{Validity: time.Hour}, err: "name a service"},
		{name: "no validity", req: CertRequest{Service: "s", Namespace: "n"}, err: "validity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := GenerateCerts(tt.req, time.Now())
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pair, err := tls.X509KeyPair(c.Cert, c.Key)
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(c.CA) {
				t.Fatal("CA does not parse")
			}
			leaf, err := x509.ParseCertificate(pair.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			opts := x509.VerifyOptions{Roots: pool, DNSName: tt.verify, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
			if _, err := leaf.Verify(opts); err != nil {
				t.Errorf("not valid for %s: %v", tt.verify, err)
			}
			opts.DNSName = tt.invalid
			if _, err := leaf.Verify(opts); err == nil {
				t.Errorf("valid for %s too", tt.invalid)
			}
		})
	}
}

// tlsServer serves s over TLS on loopback and returns its URL and a client
// that trusts only its CA.
func tlsServer(t testing.TB, s *Server) (string, *http.Client) {
	t.Helper()
	dir := t.TempDir()
	c, err := GenerateCerts(CertRequest{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Validity: time.Hour}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, c.Cert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, c.Key, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := Listen("127.0.0.1:0", certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CA)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 4}}
	return "https://" + l.Addr().String(), client
}

func post(t testing.TB, client *http.Client, url string, body []byte) (*admissionv1.AdmissionReview, int) {
	t.Helper()
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(b, &review); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	return &review, resp.StatusCode
}

func reviewBody(t testing.TB, r *admissionv1.AdmissionRequest) []byte {
	b, err := json.Marshal(&admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: r})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Over TLS, as the API server calls it.
func TestServeTLS(t *testing.T) {
	s := newServer(t, sreExempt, io.Discard)
	url, client := tlsServer(t, s)
	for _, tt := range []struct {
		u       user
		allowed bool
	}{{alice, false}, {bob, true}} {
		review, code := post(t, client, url+Path, reviewBody(t, request(t, tt.u, "exec", admissionv1.Connect, execOpts(true, true, "sh"), nil)))
		if code != http.StatusOK || review.Response == nil || review.Response.Allowed != tt.allowed {
			t.Errorf("%s: status %d answer %+v, want allowed %v", tt.u.name, code, review, tt.allowed)
		}
	}
	if _, code := post(t, client, url+Path, []byte("{")); code != http.StatusBadRequest {
		t.Errorf("a bad review: status %d, want 400", code)
	}
	resp, err := client.Get(url + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: %v %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
}

// genPolicy writes a policy of n selectors (a quarter of them on identity)
// and n/4 responses, deterministically.
func genPolicy(n int) string {
	rng := rand.New(rand.NewSource(1))
	var b strings.Builder
	b.WriteString("process:\n  selectors:\n")
	for i := range n {
		fmt.Fprintf(&b, "    - name: s%03d\n", i)
		switch i % 8 {
		case 0:
			fmt.Fprintf(&b, "      kubernetesGroup: [team-%d, ops-*]\n      operation: [exec]\n", rng.Intn(50))
		case 1:
			fmt.Fprintf(&b, "      kubernetesUser: [user-%d, \"system:serviceaccount:ns-%d:*\"]\n", rng.Intn(50), rng.Intn(50))
		case 2:
			fmt.Fprintf(&b, "      kubernetesNamespace: [ns-%d, team-%d-*]\n      sessionLeaderInteractive: true\n", rng.Intn(50), rng.Intn(50))
		case 3:
			fmt.Fprintf(&b, "      processArgs: [\"sh -c *\", \"/healthz.sh **\"]\n      containerName: [c-%d, sidecar-*]\n", rng.Intn(50))
		case 4:
			fmt.Fprintf(&b, "      processName: [sh, bash, python%d]\n      stdin: [attached, terminal]\n", rng.Intn(5))
		case 5:
			fmt.Fprintf(&b, "      kubernetesPodName: [web-%d-*, api-%d]\n      operation: [exec, containerStart]\n", rng.Intn(100), rng.Intn(100))
		case 6:
			fmt.Fprintf(&b, "      processExecutable: [/bin/*, /opt/app%d/**/bin/*.sh]\n", rng.Intn(30))
		case 7:
			fmt.Fprintf(&b, "      maintenanceWindow: {days: [sat, sun], hours: \"%02d:00-%02d:30\"}\n      kubernetesGroup: [sre]\n", rng.Intn(24), rng.Intn(24))
		}
	}
	b.WriteString("  responses:\n")
	for i := range n / 4 {
		fmt.Fprintf(&b, "    - match: [s%03d, s%03d]\n      exclude: [s%03d]\n      actions: [%s]\n",
			rng.Intn(n), rng.Intn(n), rng.Intn(n), []string{"log", "alert", "alert, block"}[i%3])
	}
	return b.String()
}

func percentile(ds []time.Duration, p float64) time.Duration {
	slices.Sort(ds)
	i := int(float64(len(ds))*p+0.999999) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

// BenchmarkDecision200 is one webhook decision against a policy of 200
// selectors and 50 responses: decode the review, decide, record the event
// in an event log file, encode the answer. It reports p50 and p99 (the
// target: p99 <= 2 ms).
func BenchmarkDecision200(b *testing.B) {
	log := filepath.Join(b.TempDir(), "events.ndjson")
	s := newServer(b, genPolicy(200), nil)
	s.cfg.EventLog = log
	bodies := benchBodies(b)
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if _, err := s.ReviewJSON(bodies[i%len(bodies)]); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t0))
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(times, 0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(times, 0.99).Microseconds()), "p99-µs")
}

// BenchmarkDecision200TLS is the same decision as the API server sees it:
// an HTTPS POST on a kept-alive loopback connection, answered.
func BenchmarkDecision200TLS(b *testing.B) {
	s := newServer(b, genPolicy(200), nil)
	s.cfg.EventLog = filepath.Join(b.TempDir(), "events.ndjson")
	url, client := tlsServer(b, s)
	bodies := benchBodies(b)
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if review, code := post(b, client, url+Path, bodies[i%len(bodies)]); review == nil {
			b.Fatalf("status %d", code)
		}
		times = append(times, time.Since(t0))
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(times, 0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(times, 0.99).Microseconds()), "p99-µs")
}

func benchBodies(b *testing.B) [][]byte {
	return [][]byte{
		reviewBody(b, request(b, alice, "exec", admissionv1.Connect, execOpts(true, true, "sh"), nil)),
		reviewBody(b, request(b, bob, "exec", admissionv1.Connect, execOpts(false, false, "sh", "-c", "cat /etc/hostname"), nil)),
		reviewBody(b, request(b, robot, "attach", admissionv1.Connect, execOpts(true, true), nil)),
		reviewBody(b, request(b, alice, "ephemeralcontainers", admissionv1.Update,
			debugPod(debugger("old", true, "sh"), debugger("debugger-x", true, "sh")), debugPod(debugger("old", true, "sh")))),
	}
}

// The generated policy is valid and its identity selectors decide: the
// benchmark measures real decisions.
func TestGenPolicy(t *testing.T) {
	s := newServer(t, genPolicy(200), nil)
	p, _ := s.Policy()
	if n := len(p.SelectorNames()); n != 200 {
		t.Fatalf("%d selectors", n)
	}
	r := request(t, user{"user-x", []string{"ops-eu"}}, "exec", admissionv1.Connect, execOpts(true, true, "sh"), nil)
	var events bytes.Buffer
	s.out = &events
	s.Review(r)
	if !strings.Contains(events.String(), `"s000"`) {
		t.Errorf("the group selector s000 did not match: %s", events.String())
	}
}
