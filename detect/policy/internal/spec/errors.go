package spec

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a policy file, where it is and what to do about it.
type Error struct {
	File   string
	Line   int // 1-based; 0 when the problem is the file as a whole
	Column int // 1-based; 0 when unknown
	// Key is the offending key, as a path (process.selectors[2].processName),
	// or empty for problems with the file as a whole.
	Key  string
	Msg  string
	Hint string
}

// Error renders file:line:column: key: message (hint: ...).
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Errors is every problem found in one policy file, in file order.
type Errors []Error

// Error renders one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// List collects problems while a file is read or compiled.
type List struct {
	File string
	Errs Errors
}

// Add records a problem.
func (l *List) Add(line, col int, key, msg, hint string) {
	l.Errs = append(l.Errs, Error{File: l.File, Line: line, Column: col, Key: key, Msg: msg, Hint: hint})
}

// Suggest returns the known word closest to s, or "" when none is close.
func Suggest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(lower(s), lower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Sort orders problems by position and drops repeated reports of one
// problem at one place.
func Sort(es Errors) Errors {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Column < es[j].Column
	})
	out := es[:0]
	for i, e := range es {
		if i > 0 && e == es[i-1] {
			continue
		}
		out = append(out, e)
	}
	return out
}
