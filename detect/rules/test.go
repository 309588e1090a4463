package rules

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// EventResult is what the rules say of one event of an NDJSON file.
type EventResult struct {
	Line    int
	Summary string // what the event is, for people
	Matched []*Rule
	// Alerts are the ids of the rules that raise their own alert for it
	// (Outcome); the seed rule's alert is the policy's.
	Alerts []string
}

// maxLine bounds one event line; execguard's are a few KiB.
const maxLine = 4 << 20

// TestEvents matches the set against every event (event.kind "event") of
// an NDJSON stream, such as execguard's event log. Alert documents and
// other kinds are skipped: rules run on events. A line that is not a JSON
// object is an error naming the line.
func (s *Set) TestEvents(r io.Reader) ([]EventResult, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []EventResult
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			return out, fmt.Errorf("line %d: not a JSON object: %v", n, err)
		}
		if kind, _ := lookupString(doc, "event", "kind"); kind != "" && kind != "event" {
			continue
		}
		res := EventResult{Line: n, Summary: summary(doc), Matched: s.Match(doc)}
		_, alerts := Outcome(res.Matched)
		for _, a := range alerts {
			res.Alerts = append(res.Alerts, a.ID)
		}
		out = append(out, res)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("reading events: %w", err)
	}
	return out, nil
}

func lookupString(doc map[string]any, path ...string) (string, bool) {
	var v any = doc
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		v = m[p]
	}
	s, ok := v.(string)
	return s, ok
}

// summary names an event: its action, container and command.
func summary(doc map[string]any) string {
	action, _ := lookupString(doc, "event", "action")
	ctr, _ := lookupString(doc, "container", "name")
	if ctr == "" {
		ctr, _ = lookupString(doc, "container", "id")
		if len(ctr) > 12 {
			ctr = ctr[:12]
		}
	}
	cmd, _ := lookupString(doc, "process", "command_line")
	if len(cmd) > 60 {
		cmd = cmd[:60] + "..."
	}
	parts := []string{orDefault(action, "?")}
	if ctr != "" {
		parts = append(parts, "in "+ctr)
	}
	if cmd != "" {
		parts = append(parts, fmt.Sprintf("%q", cmd))
	}
	return strings.Join(parts, " ")
}
