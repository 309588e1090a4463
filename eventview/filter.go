package eventview

import (
	"fmt"
	"path"
	"slices"
	"time"
)

// Filter selects events; a zero field selects all.
type Filter struct {
	// Namespace, Pod and Container are shell patterns (path.Match: *, ?,
	// [...]) over the pod's namespace, the pod's name and the container's
	// name or id.
	Namespace, Pod, Container string
	// Kind is event.kind: event or alert.
	Kind string
	// Outcome is event.outcome: success, failure (a blocked call) or
	// unknown.
	Outcome string
	// Since and Until bound @timestamp: Since <= t < Until.
	Since, Until time.Time
}

// Validate checks the patterns and values, naming the flag-like field at
// fault.
func (f Filter) Validate() error {
	for _, p := range []struct{ name, pattern string }{
		{"namespace", f.Namespace}, {"pod", f.Pod}, {"container", f.Container},
	} {
		if _, err := path.Match(p.pattern, ""); err != nil {
			return fmt.Errorf("%s %q: not a valid pattern: %w", p.name, p.pattern, err)
		}
	}
	if f.Kind != "" && !slices.Contains([]string{"event", "alert"}, f.Kind) {
		return fmt.Errorf("kind %q: want event or alert", f.Kind)
	}
	if f.Outcome != "" && !slices.Contains([]string{"success", "failure", "unknown"}, f.Outcome) {
		return fmt.Errorf("outcome %q: want success, failure or unknown", f.Outcome)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return fmt.Errorf("since %s is not before until %s", f.Since.Format(time.RFC3339), f.Until.Format(time.RFC3339))
	}
	return nil
}

// Match reports whether the event passes every condition. The patterns
// were checked by Validate.
func (f Filter) Match(e Event) bool {
	switch {
	case !match(f.Namespace, e.Namespace()),
		!match(f.Pod, e.Pod()),
		!match(f.Container, e.Container()) && !match(f.Container, e.doc.Container.ID),
		f.Kind != "" && e.Kind() != f.Kind,
		f.Outcome != "" && e.Outcome() != f.Outcome,
		!f.Since.IsZero() && e.Time.Before(f.Since),
		!f.Until.IsZero() && !e.Time.Before(f.Until):
		return false
	}
	return true
}

func match(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok
}
