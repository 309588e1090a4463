package detect

import "strings"

// Text returns recorded terminal text with secrets replaced: the matches of
// the redaction patterns, and the word after a redact flag
// (`--password hunter2`). Patterns read at most one line of text, as they
// do one argument, so callers hand whole lines where they can.
func (r *Redactor) Text(s string) string {
	if r == nil || s == "" {
		return s
	}
	if strings.Contains(s, "\n") {
		// A terminal ends its lines in \r\n: the line ending is no part of
		// a secret the patterns' (.+) would take it into.
		lines := strings.SplitAfter(s, "\n")
		for i, l := range lines {
			body := strings.TrimRight(l, "\r\n")
			lines[i] = r.textLine(body) + l[len(body):]
		}
		return strings.Join(lines, "")
	}
	body := strings.TrimRight(s, "\r")
	return r.textLine(body) + s[len(body):]
}

func (r *Redactor) textLine(s string) string {
	s = r.redact(s)
	if len(r.flags) == 0 {
		return s
	}
	var b strings.Builder
	rest := s
	changed := false
	for rest != "" {
		i := strings.IndexAny(rest, " \t")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		word := rest[:i]
		b.WriteString(word)
		rest = rest[i:]
		j := 0
		for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t') {
			j++
		}
		b.WriteString(rest[:j])
		rest = rest[j:]
		if !r.flags[strings.ToLower(word)] || rest == "" {
			continue
		}
		k := strings.IndexAny(rest, " \t")
		if k < 0 {
			k = len(rest)
		}
		if k > 0 && rest[:k] != Redacted {
			b.WriteString(Redacted)
			rest = rest[k:]
			changed = true
		}
	}
	if !changed {
		return s
	}
	return b.String()
}
