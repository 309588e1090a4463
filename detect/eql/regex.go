package eql

import (
	"fmt"
	"regexp"
	"strings"
)

// compileRegex compiles a Lucene regular expression (what Elasticsearch's regexp query takes)
// for Go's RE2 engine, anchored at both ends as Lucene's are. It refuses what the two read
// differently, so a pattern never silently means something else; msg says why.
func compileRegex(pat string, fold bool) (*regexp.Regexp, string) {
	if msg := checkLucene(pat); msg != "" {
		return nil, msg
	}
	flags := "(?s)" // Lucene's . matches any character, newlines included
	if fold {
		flags = "(?is)"
	}
	re, err := regexp.Compile(flags + "^(?:" + pat + ")$")
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "error parsing regexp") {
			msg = msg[len("error parsing regexp: "):]
		}
		return nil, msg
	}
	return re, ""
}

// checkLucene refuses the parts of a pattern where Lucene and RE2 differ.
func checkLucene(pat string) string {
	inClass := false
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		if c == '\\' {
			if i+1 == len(pat) {
				return "ends with a backslash"
			}
			e := pat[i+1]
			isLetter := 'a' <= e && e <= 'z' || 'A' <= e && e <= 'Z' || '0' <= e && e <= '9'
			if isLetter && !strings.ContainsRune("dDsSwW", rune(e)) {
				return fmt.Sprintf(`escape \%c is not supported (Lucene knows \d \D \s \S \w \W and escaped punctuation)`, e)
			}
			i++
			continue
		}
		if inClass {
			if c == ']' {
				inClass = false
			}
			continue
		}
		switch c {
		case '[':
			inClass = true
		case '#', '@', '&', '~', '<', '>', '"':
			return fmt.Sprintf("%q is a Lucene operator this evaluator does not support; write \\%c to match it literally", c, c)
		case '^', '$':
			return fmt.Sprintf("%q is a literal character in Lucene regular expressions, which are always anchored; write \\%c to match it", c, c)
		case '(':
			if i+1 < len(pat) && pat[i+1] == '?' {
				return "(? groups and flags are not Lucene syntax"
			}
		}
	}
	if inClass {
		return "unterminated character class, expected ']'"
	}
	return ""
}
