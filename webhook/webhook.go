// Package webhook is execguard's Kubernetes validating admission webhook:
// it decides kubectl exec, attach and debug (pods/exec and pods/attach
// CONNECT, pods/ephemeralcontainers UPDATE) at the API server, with the same
// policy the nodes enforce, and knows who asked: the policy's
// kubernetesUser and kubernetesGroup conditions hold here, and only here.
// Each decision is written as an ECS document carrying user.name and
// user.group.name. docs/webhook.md describes it.
package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/policy"
	"github.com/execguard/execguard/detect/policy/policyfile"
	"github.com/execguard/execguard/eventlog"
)

// Path is where the webhook serves admission reviews.
const Path = "/validate"

// maxBody bounds an admission review: a pod with its ephemeral containers,
// twice, is far below it.
const maxBody = 8 << 20

// Config configures a webhook.
type Config struct {
	// PolicyFile is the policy (YAML); empty: the built-in default policy.
	// A changed file applies to the next request; an invalid one leaves the
	// last good policy in force.
	PolicyFile string
	// EventLog is the NDJSON file decisions are appended to; "-" is the
	// standard output (a container's log); empty: Events, else nothing.
	EventLog string
	// Events receives the decisions' lines when EventLog is empty.
	Events io.Writer
	// Cluster names the cluster in events and for kubernetesCluster*
	// conditions.
	Cluster detect.Cluster
	// Log receives diagnostics; nil: logrus's standard logger.
	Log *logrus.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Redactor rewrites recorded arguments; nil: execguard's default
	// patterns and flags.
	Redactor *detect.Redactor
}

// Server decides admission reviews. It is safe for concurrent use.
type Server struct {
	cfg    Config
	log    *logrus.Logger
	now    func() time.Time
	loaded atomic.Pointer[loadedPolicy]
	reload sync.Mutex
	outMu  sync.Mutex
	out    io.Writer
}

// loadedPolicy is the policy in force and what the file looked like when it
// was read, so that an unchanged file is not read again.
type loadedPolicy struct {
	p    *policy.Policy
	stat fileKey
	err  string // why the file's current content is not in force
}

type fileKey struct {
	ino, size   int64
	mtime, ctim int64
}

// New loads the policy and returns a server. A policy that cannot be read
// or is invalid is an error: a webhook that cannot decide must not start
// (the webhook configuration's failurePolicy then says what the API server
// does without it).
func New(cfg Config) (*Server, error) {
	s := &Server{cfg: cfg, log: cfg.Log, now: cfg.Now}
	if s.log == nil {
		s.log = logrus.StandardLogger()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cfg.Redactor == nil {
		red, err := detect.NewRedactor(detect.DefaultRedactPatterns, detect.DefaultRedactFlags, nil)
		if err != nil {
			return nil, fmt.Errorf("webhook: default redaction: %w", err)
		}
		s.cfg.Redactor = red
	}
	switch cfg.EventLog {
	case "":
		s.out = cfg.Events
	case "-":
		s.out = os.Stdout
	}
	if cfg.PolicyFile == "" {
		s.loaded.Store(&loadedPolicy{p: policy.Default()})
		return s, nil
	}
	key, _ := statKey(cfg.PolicyFile)
	p, err := policyfile.Load(cfg.PolicyFile)
	if err != nil {
		return nil, fmt.Errorf("webhook policy %s: %w", cfg.PolicyFile, err)
	}
	s.loaded.Store(&loadedPolicy{p: p, stat: key})
	return s, nil
}

// Policy is the policy in force, after reading the file again if it changed.
func (s *Server) Policy() (*policy.Policy, string) {
	l := s.current()
	return l.p, l.err
}

func (s *Server) current() *loadedPolicy {
	l := s.loaded.Load()
	if s.cfg.PolicyFile == "" {
		return l
	}
	// A file that cannot be stat'ed has the zero key: once refused, it is
	// not read again (nor logged) until it is back.
	key, _ := statKey(s.cfg.PolicyFile)
	if key == l.stat {
		return l
	}
	s.reload.Lock()
	defer s.reload.Unlock()
	if l = s.loaded.Load(); key == l.stat {
		return l
	}
	next := &loadedPolicy{p: l.p, stat: key}
	if p, lerr := policyfile.Load(s.cfg.PolicyFile); lerr != nil {
		next.err = fmt.Sprintf("policy %s refused, revision %s stays in force: %v", s.cfg.PolicyFile, l.p.Revision(), oneLine(lerr))
		s.log.WithField("policy", s.cfg.PolicyFile).WithError(lerr).Error("policy refused; the last good policy stays in force")
	} else {
		next.p = p
		s.log.WithFields(logrus.Fields{"policy": s.cfg.PolicyFile, "revision": p.Revision()}).Info("policy loaded")
	}
	s.loaded.Store(next)
	return next
}

func statKey(path string) (fileKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileKey{}, err
	}
	k := fileKey{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.ino = int64(st.Ino)
		k.ctim = st.Ctim.Nano()
	}
	return k, nil
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// ServeHTTP answers one AdmissionReview (admission.k8s.io/v1) posted to Path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST an AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "cannot read the request body", http.StatusBadRequest)
		return
	}
	out, err := s.ReviewJSON(body)
	if err != nil {
		s.log.WithError(err).Warn("bad admission review")
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// ReviewJSON answers an AdmissionReview given as JSON.
func (s *Server) ReviewJSON(body []byte) ([]byte, error) {
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		return nil, fmt.Errorf("admission review: %w", err)
	}
	if review.Request == nil {
		return nil, errors.New("admission review: no request")
	}
	resp := s.Review(review.Request)
	return json.Marshal(&admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Response: resp,
	})
}

// Review decides one admission request and records the decision.
func (s *Server) Review(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	cs, ours, err := calls(req, s.cfg.Cluster)
	if !ours {
		return resp
	}
	now := s.now()
	l := s.current()
	if err != nil {
		// The API server built the object; one that does not decode is not
		// let through undecided.
		s.log.WithError(err).WithField("uid", req.UID).Warn("admission request not understood")
		resp.Allowed = false
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusBadRequest, Reason: metav1.StatusReasonBadRequest,
			Message: "execguard: " + err.Error()}
		return resp
	}
	var buf []byte
	var refusals, actions []string
	for _, c := range cs {
		r := l.p.EvaluateRequest(c.req, now)
		d := policy.Decision(c.req.Facts, r, l.p.Revision())
		if d.Block {
			refusals = append(refusals, d.Reason)
		}
		actions = append(actions, string(d.Action))
		buf = appendDecision(buf, now, req, c, d, l.err, s.cfg.Redactor)
	}
	if len(refusals) > 0 {
		resp.Allowed = false
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden,
			Message: strings.Join(refusals, "; ")}
	}
	// The API server writes these into its audit event of the request, as
	// <webhook name>/<key>: the audit log then says what execguard decided.
	resp.AuditAnnotations = map[string]string{
		"decision":        strings.Join(actions, ","),
		"policy-revision": l.p.Revision(),
	}
	s.write(buf)
	return resp
}

func (s *Server) write(buf []byte) {
	if len(buf) == 0 {
		return
	}
	if s.cfg.EventLog != "" && s.cfg.EventLog != "-" {
		if err := eventlog.Append(s.cfg.EventLog, buf); err != nil {
			s.log.WithError(err).Error("event lost")
		}
		return
	}
	if s.out == nil {
		return
	}
	s.outMu.Lock()
	defer s.outMu.Unlock()
	if _, err := s.out.Write(buf); err != nil {
		s.log.WithError(err).Error("event lost")
	}
}
