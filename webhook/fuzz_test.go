package webhook

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
)

// FuzzReviewJSON: any body the API server (or anyone reaching the port)
// posts gives an answer or an error, never a panic, and an answer always
// carries the request's uid; a refusal always says why.
func FuzzReviewJSON(f *testing.F) {
	for _, r := range []*admissionv1.AdmissionRequest{
		request(f, alice, "exec", admissionv1.Connect, execOpts(true, true, "sh"), nil),
		request(f, bob, "attach", admissionv1.Connect, &corev1.PodAttachOptions{Container: "app", TTY: true}, nil),
		request(f, alice, "ephemeralcontainers", admissionv1.Update, debugPod(debugger("d", true, "sh")), debugPod()),
	} {
		f.Add(reviewBody(f, r))
	}
	f.Add([]byte(`{"request":{"uid":"x","resource":{"resource":"pods"},"subResource":"exec","operation":"CONNECT","object":{"command":null}}}`))
	f.Add([]byte(`{"request":{"uid":"x","resource":{"resource":"pods"},"subResource":"ephemeralcontainers","operation":"UPDATE","object":{"spec":{"ephemeralContainers":[{"name":"a","securityContext":{"runAsUser":-1}}]}},"oldObject":[]}}`))
	s := newServer(f, sreExempt, &bytes.Buffer{})
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := s.ReviewJSON(body)
		if err != nil {
			return
		}
		var in, review admissionv1.AdmissionReview
		if json.Unmarshal(body, &in) != nil || json.Unmarshal(out, &review) != nil || review.Response == nil {
			t.Fatalf("answer %s to %s", out, body)
		}
		if review.Response.UID != in.Request.UID {
			t.Fatalf("answer uid %q, request %q", review.Response.UID, in.Request.UID)
		}
		if !review.Response.Allowed && (review.Response.Result == nil || !strings.HasPrefix(review.Response.Result.Message, "execguard: ")) {
			t.Fatalf("refusal without execguard's reason: %s", out)
		}
	})
}
