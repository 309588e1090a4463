package policy

import (
	"fmt"
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

// Error renders file:line:column: key: message (hint).
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

// errorList collects problems while a file is read.
type errorList struct {
	file string
	errs Errors
}

func (l *errorList) add(line, col int, key, msg, hint string) {
	l.errs = append(l.errs, Error{File: l.file, Line: line, Column: col, Key: key, Msg: msg, Hint: hint})
}
