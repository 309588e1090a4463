package eql

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// compileRegex compiles a Lucene regular expression (what Elasticsearch's regexp query takes)
// for Go's RE2 engine, anchored at both ends as Lucene's are. It refuses what the two read
// differently, so a pattern never silently means something else; msg says why.
func compileRegex(pat string, fold bool) (regexMatcher, string) {
	if msg := checkLucene(pat); msg != "" {
		return regexMatcher{}, msg
	}
	flags := "(?s)" // Lucene's . matches any character, newlines included
	if fold {
		flags = "(?is)"
	}
	expr := flags + "^(?:" + pat + ")$"
	mid, lit, ok := containsForm(pat, fold)
	if ok {
		// .*X.* matches the whole string when X matches somewhere in it: searching
		// for X is the same and much faster.
		expr = flags + "(?:" + mid + ")"
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			if se.Code == syntax.ErrNestingDepth || se.Code == syntax.ErrLarge || strings.Contains(se.Expr, "(?s)") {
				return regexMatcher{}, string(se.Code)
			}
			return regexMatcher{}, fmt.Sprintf("%s: `%s`", se.Code, shorten(se.Expr))
		}
		return regexMatcher{}, err.Error()
	}
	if ok && lit != "" && (!fold || isASCII(lit)) {
		if fold {
			lit = strings.ToLower(lit)
		}
		return regexMatcher{lit: lit, fold: fold}, ""
	}
	return regexMatcher{re: re}, ""
}

// shorten keeps messages about huge patterns readable.
func shorten(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// containsForm reports whether pat is .*X.* at its top level, and returns X, and X's text
// when X is a plain literal.
func containsForm(pat string, fold bool) (mid, lit string, ok bool) {
	flags := syntax.Perl | syntax.DotNL
	if fold {
		flags |= syntax.FoldCase
	}
	re, err := syntax.Parse(pat, flags)
	if err != nil || re.Op != syntax.OpConcat || len(re.Sub) < 3 {
		return "", "", false
	}
	anyRun := func(r *syntax.Regexp) bool {
		return r.Op == syntax.OpStar && len(r.Sub) == 1 &&
			(r.Sub[0].Op == syntax.OpAnyCharNotNL || r.Sub[0].Op == syntax.OpAnyChar)
	}
	first, last := re.Sub[0], re.Sub[len(re.Sub)-1]
	if !anyRun(first) || !anyRun(last) {
		return "", "", false
	}
	subs := re.Sub[1 : len(re.Sub)-1]
	if len(subs) == 1 && subs[0].Op == syntax.OpLiteral {
		lit = string(subs[0].Rune)
	}
	m := &syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags, Sub: subs}
	return m.String(), lit, true
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
