package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// keyPair serves a certificate from files, read again when they change:
// cert-manager renews them in place.
type keyPair struct {
	certFile, keyFile string
	mu                sync.Mutex
	cert              *tls.Certificate
	key               [2]fileKey
}

func (k *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	ck, cerr := statKey(k.certFile)
	kk, kerr := statKey(k.keyFile)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cert != nil && (cerr != nil || kerr != nil || [2]fileKey{ck, kk} == k.key) {
		return k.cert, nil
	}
	c, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		if k.cert != nil {
			// Halfway through a renewal the two files may not match yet.
			return k.cert, nil
		}
		return nil, fmt.Errorf("serving certificate %s, key %s: %w", k.certFile, k.keyFile, err)
	}
	k.cert, k.key = &c, [2]fileKey{ck, kk}
	return k.cert, nil
}

// Listen opens the webhook's TLS listener on addr with the certificate and
// key files, checking they load.
func Listen(addr, certFile, keyFile string) (net.Listener, error) {
	kp := &keyPair{certFile: certFile, keyFile: keyFile}
	if _, err := kp.get(nil); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook listen on %s: %w", addr, err)
	}
	return tls.NewListener(l, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: kp.get}), nil
}

// Handler serves Path and a readiness check, /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(Path, s)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// Serve serves the webhook on l until ctx ends, then lets requests in
// flight finish for a few seconds.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          nil,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	s.log.WithFields(logrus.Fields{"address": l.Addr().String(), "path": Path}).Info("webhook serving")
	select {
	case err := <-done:
		return fmt.Errorf("webhook serve: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shut)
	if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
