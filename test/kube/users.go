package kube

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
)

// AddUser issues a client certificate for a user of the cluster, signed by
// its CA: the common name is the user name, the organisations its groups,
// as the API server's x509 authenticator reads them. It writes
// <name>.kubeconfig in the cluster's directory and returns its path; pass
// it to kubectl as --kubeconfig after the cluster's own (the last one
// counts), e.g. c.Kubectl("--kubeconfig", kc, "auth", "whoami").
// The user has no permissions until a role is bound to it or its groups.
func (c *Cluster) AddUser(name string, groups ...string) (string, error) {
	if name == "" || strings.ContainsAny(name, "/\x00") {
		return "", fmt.Errorf("add user %q: want a name without / or NUL", name)
	}
	ca, err := loadCA(c.path("pki", "ca.crt"), c.path("pki", "ca.key"))
	if err != nil {
		return "", fmt.Errorf("add user %s: %w", name, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return "", fmt.Errorf("add user %s: %w", name, err)
	}
	stem := "user-" + name
	crt, key, err := ca.issue(c.path("pki"), serial.Int64()+1000, certSpec{name: stem, cn: name, orgs: groups, client: true})
	if err != nil {
		return "", fmt.Errorf("add user %s: %w", name, err)
	}
	kc := c.path(stem + ".kubeconfig")
	if err := writeFile(kc, kubeconfig(c.Server, ca.file, crt, key)); err != nil {
		return "", fmt.Errorf("add user %s: %w", name, err)
	}
	return kc, nil
}

// loadCA reads the cluster's CA back from its files.
func loadCA(certFile, keyFile string) (*ca, error) {
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read CA key: %w", err)
	}
	cblk, _ := pem.Decode(cb)
	kblk, _ := pem.Decode(kb)
	if cblk == nil || kblk == nil {
		return nil, errors.New("CA certificate or key is not PEM")
	}
	cert, err := x509.ParseCertificate(cblk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate %s: %w", certFile, err)
	}
	key, err := x509.ParsePKCS1PrivateKey(kblk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse CA key %s: %w", keyFile, err)
	}
	return &ca{cert: cert, key: key, file: certFile}, nil
}
