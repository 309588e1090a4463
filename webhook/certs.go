package webhook

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// CertRequest says what a self-signed webhook certificate is for: the
// Service the API server calls, or extra names and addresses (a webhook
// outside the cluster, called by URL).
type CertRequest struct {
	Service, Namespace string
	DNSNames           []string
	IPs                []net.IP
	Validity           time.Duration
}

// Certs are PEM: a CA (its certificate is the webhook configuration's
// caBundle; its key is not kept), and the serving certificate and key it
// signed.
type Certs struct {
	CA, Cert, Key []byte
}

// Names are the DNS names the serving certificate carries: the Service's
// names the API server may use, then the extra ones.
func (r CertRequest) Names() []string {
	var out []string
	if r.Service != "" && r.Namespace != "" {
		svc := r.Service + "." + r.Namespace
		out = append(out, r.Service, svc, svc+".svc", svc+".svc.cluster.local")
	}
	return append(out, r.DNSNames...)
}

// GenerateCerts makes a CA and a serving certificate (ECDSA P-256) for r.
// The CA's key is discarded: renewal is a new pair and a new caBundle.
func GenerateCerts(r CertRequest, now time.Time) (Certs, error) {
	names := r.Names()
	if len(names) == 0 && len(r.IPs) == 0 {
		return Certs{}, errors.New("webhook certificate: name a service and namespace, a DNS name or an IP address")
	}
	if r.Validity <= 0 {
		return Certs{}, fmt.Errorf("webhook certificate: validity %s is not positive", r.Validity)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Certs{}, fmt.Errorf("webhook CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "execguard-webhook-ca"},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(r.Validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return Certs{}, fmt.Errorf("webhook CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return Certs{}, fmt.Errorf("webhook CA certificate: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Certs{}, fmt.Errorf("webhook serving key: %w", err)
	}
	cn := "execguard-webhook"
	if len(names) > 0 {
		cn = names[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(r.Validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
		IPAddresses:  r.IPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return Certs{}, fmt.Errorf("webhook serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return Certs{}, fmt.Errorf("webhook serving key: %w", err)
	}
	return Certs{
		CA:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on Linux; a fixed serial still works.
		return big.NewInt(1)
	}
	return n
}
