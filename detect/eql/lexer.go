package eql

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokenKind int

const (
	tokEOF     tokenKind = iota
	tokWord              // identifier or keyword; "in~", "like~" and "regex~" are single words
	tokEscaped           // `backtick-escaped` identifier; never a keyword
	tokString            // "..." or """raw"""; val holds the decoded text
	tokNumber            // num holds the value
	tokPunct             // . , ( ) [ ] - ? | == != : < <= > >=; brackets and | only to report sequences and pipes well
)

type token struct {
	kind tokenKind
	text string // source text (for words and punctuation)
	val  string // decoded value of strings and escaped identifiers
	num  float64
	pos  int // byte offset into the query
}

// SyntaxError reports where a query stopped making sense and what was expected there.
type SyntaxError struct {
	Offset int // byte offset into the query
	Line   int // 1-based
	Column int // 1-based, in characters
	Msg    string
	// Unsupported is true when the query is valid EQL that this evaluator does not run
	// (a sequence, a pipe, a function it lacks), rather than a mistake.
	Unsupported bool
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("eql: line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

func syntaxErrorAt(src string, pos int, format string, args ...any) *SyntaxError {
	line, col := 1, 1
	for _, r := range src[:pos] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &SyntaxError{Offset: pos, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// lex splits the whole query into tokens up front; comments and whitespace are dropped.
func lex(src string) ([]token, error) {
	if len(src) > MaxQueryBytes {
		return nil, &SyntaxError{Line: 1, Column: 1, Msg: fmt.Sprintf("query of %d bytes is longer than %d bytes", len(src), MaxQueryBytes)}
	}
	toks := make([]token, 0, len(src)/6+4)
	i := 0
	for {
		var err error
		if i, err = skipSpaceAndComments(src, i); err != nil {
			return nil, err
		}
		if i >= len(src) {
			return append(toks, token{kind: tokEOF, pos: i}), nil
		}
		c := src[i]
		switch {
		case isWordStart(c):
			j := i + 1
			for j < len(src) && isWordPart(src[j]) {
				j++
			}
			// in~, like~, regex~ and the case-insensitive function forms
			// (startsWith~) are single words.
			if j < len(src) && src[j] == '~' {
				j++
			}
			toks = append(toks, token{kind: tokWord, text: src[i:j], pos: i})
			i = j
		case c >= '0' && c <= '9':
			t, err := lexNumber(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += len(t.text)
		case c == '"':
			t, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += len(t.text)
		case c == '`':
			t, err := lexEscapedIdent(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += len(t.text)
		case c == '\'':
			return nil, syntaxErrorAt(src, i, "single-quoted strings are not supported, use double quotes")
		default:
			p := lexPunct(src[i:])
			if p == "" {
				r, _ := utf8.DecodeRuneInString(src[i:])
				if c == '=' {
					return nil, syntaxErrorAt(src, i, "'=' is not an operator, use '==' or ':'")
				}
				return nil, syntaxErrorAt(src, i, "unexpected character %q", r)
			}
			toks = append(toks, token{kind: tokPunct, text: p, pos: i})
			i += len(p)
		}
	}
}

func skipSpaceAndComments(src string, i int) (int, error) {
	for i < len(src) {
		switch {
		case strings.IndexByte(" \t\r\n", src[i]) >= 0:
			i++
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			var err error
			if i, err = skipBlockComment(src, i); err != nil {
				return 0, err
			}
		default:
			return i, nil
		}
	}
	return i, nil
}

// skipBlockComment skips /* ... */ starting at src[i]; comments nest, as in Elasticsearch's grammar.
func skipBlockComment(src string, i int) (int, error) {
	start, depth := i, 0
	for i < len(src) {
		switch {
		case strings.HasPrefix(src[i:], "/*"):
			depth++
			i += 2
		case strings.HasPrefix(src[i:], "*/"):
			depth--
			i += 2
			if depth == 0 {
				return i, nil
			}
		default:
			i++
		}
	}
	return 0, syntaxErrorAt(src, start, "unterminated comment, expected '*/'")
}

func isWordStart(c byte) bool {
	return c == '_' || c == '@' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isWordPart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func lexPunct(s string) string {
	for _, p := range []string{"==", "!=", "<=", ">=", "<", ">", ":", ".", ",", "(", ")", "[", "]", "-", "?", "|"} {
		if strings.HasPrefix(s, p) {
			return p
		}
	}
	return ""
}

func lexNumber(src string, i int) (token, error) {
	j := i
	digits := func() {
		for j < len(src) && src[j] >= '0' && src[j] <= '9' {
			j++
		}
	}
	digits()
	if j+1 < len(src) && src[j] == '.' && src[j+1] >= '0' && src[j+1] <= '9' {
		j++
		digits()
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < len(src) && src[k] >= '0' && src[k] <= '9' {
			j = k
			digits()
		}
	}
	text := src[i:j]
	n, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return token{}, syntaxErrorAt(src, i, "bad number %q", text)
	}
	return token{kind: tokNumber, text: text, num: n, pos: i}, nil
}

// lexString reads "..." (with escapes) or """...""" (raw, no escapes).
func lexString(src string, i int) (token, error) {
	if strings.HasPrefix(src[i:], `"""`) {
		end := strings.Index(src[i+3:], `"""`)
		if end < 0 {
			return token{}, syntaxErrorAt(src, i, `unterminated raw string, expected closing """`)
		}
		text := src[i : i+3+end+3]
		return token{kind: tokString, text: text, val: text[3 : len(text)-3], pos: i}, nil
	}
	var b strings.Builder
	j := i + 1
	for {
		if j >= len(src) || src[j] == '\n' || src[j] == '\r' {
			return token{}, syntaxErrorAt(src, i, `unterminated string, expected closing '"'`)
		}
		c := src[j]
		if c == '"' {
			return token{kind: tokString, text: src[i : j+1], val: b.String(), pos: i}, nil
		}
		if c != '\\' {
			b.WriteByte(c)
			j++
			continue
		}
		if j+1 >= len(src) {
			return token{}, syntaxErrorAt(src, i, `unterminated string, expected closing '"'`)
		}
		switch e := src[j+1]; e {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '\\', '"':
			b.WriteByte(e)
		case 'u':
			r, n, err := unicodeEscape(src, j)
			if err != nil {
				return token{}, err
			}
			b.WriteRune(r)
			j += n
			continue
		default:
			return token{}, syntaxErrorAt(src, j, `unknown escape sequence '\%c' (valid: \n \r \t \\ \" \u{XXXX})`, e)
		}
		j += 2
	}
}

// unicodeEscape decodes \u{X..} with 2 to 8 hex digits at src[j:]; it returns the rune and the
// number of bytes consumed.
func unicodeEscape(src string, j int) (rune, int, error) {
	rest := src[j:]
	end := strings.IndexByte(rest, '}')
	if !strings.HasPrefix(rest, `\u{`) || end < 0 {
		return 0, 0, syntaxErrorAt(src, j, `bad unicode escape, expected \u{XXXX}`)
	}
	hex := rest[3:end]
	v, err := strconv.ParseUint(hex, 16, 32)
	if err != nil || len(hex) < 2 || len(hex) > 8 || !utf8.ValidRune(rune(v)) {
		return 0, 0, syntaxErrorAt(src, j, `bad unicode escape %q, expected 2 to 8 hex digits of a valid code point`, rest[:end+1])
	}
	return rune(v), end + 1, nil
}

// lexEscapedIdent reads `field name`, where a doubled backtick stands for one backtick.
func lexEscapedIdent(src string, i int) (token, error) {
	var b strings.Builder
	j := i + 1
	for {
		if j >= len(src) {
			return token{}, syntaxErrorAt(src, i, "unterminated escaped field name, expected closing '`'")
		}
		if src[j] == '`' {
			if j+1 < len(src) && src[j+1] == '`' {
				b.WriteByte('`')
				j += 2
				continue
			}
			return token{kind: tokEscaped, text: src[i : j+1], val: b.String(), pos: i}, nil
		}
		b.WriteByte(src[j])
		j++
	}
}
