package eventview

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape shows s so that a terminal prints it and does nothing else: every
// control character (C0, DEL, C1), invalid UTF-8 byte, and invisible
// formatting character (bidirectional overrides, zero-width characters,
// line and paragraph separators) is written as an escape, and the backslash
// is doubled so an escape in the text cannot pass for one of ours.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case hidden(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\\' || r < 0x20 || r == 0x7f || hidden(r) {
			return true
		}
		i += size
	}
	return false
}

// hidden reports runes above ASCII that print nothing a reader can see, or
// that act on the terminal or the text around them.
func hidden(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co) ||
		r == utf8.RuneError
}
