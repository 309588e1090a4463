package config

import (
	"unicode/utf8"

	"github.com/execguard/execguard/detect"
)

// parseSimple decodes the plain form configuration files take (the ones
// execguard install writes, and most written by hand) over cfg, without
// go-toml: the wrapper reads its configuration in a fresh process on every
// runtime call, pass-through ones included, where go-toml's first decode
// costs more than the rest of the call. The plain form is: comments, blank
// lines, known top-level keys set to strings (basic strings without escapes,
// or literal strings) or arrays of them, and a [runtimes] table of strings.
// It reports false, with cfg in an unspecified state, for anything else;
// Parse then decodes the file with go-toml, which also explains errors.
// TestParseSimpleSameAsTOML and FuzzParseSimple hold the two to each other.
func parseSimple(data []byte, cfg *Config) bool {
	if !utf8.Valid(data) {
		return false
	}
	for _, b := range data {
		if (b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7f {
			return false
		}
	}
	s := simpleScanner{src: string(data)}
	seen := map[string]bool{}
	inRuntimes := false
	for {
		s.skipBlank()
		if s.eof() {
			return true
		}
		if s.peek() == '[' {
			s.pos++
			s.skipSpace()
			if s.bareKey() != "runtimes" || inRuntimes {
				return false
			}
			s.skipSpace()
			if !s.consume(']') || !s.endOfLine() {
				return false
			}
			inRuntimes = true
			continue
		}
		key := s.bareKey()
		if key == "" {
			return false
		}
		s.skipSpace()
		if !s.consume('=') {
			return false
		}
		s.skipSpace()
		if inRuntimes {
			v, ok := s.str()
			if !ok || seen["runtimes."+key] || !s.endOfLine() {
				return false
			}
			seen["runtimes."+key] = true
			cfg.Runtimes[key] = v
			continue
		}
		if seen[key] {
			return false
		}
		seen[key] = true
		if list := cfg.listField(key); list != nil {
			v, ok := s.strs()
			if !ok || !s.endOfLine() {
				return false
			}
			*list = v
			continue
		}
		v, ok := s.str()
		if !ok || !s.endOfLine() || !cfg.setString(key, v) {
			return false
		}
	}
}

func (c *Config) listField(key string) *[]string {
	switch key {
	case "redact":
		return &c.Redact
	case "redact_flags":
		return &c.RedactFlags
	case "env_values":
		return &c.EnvValues
	}
	return nil
}

func (c *Config) setString(key, v string) bool {
	switch key {
	case "event_log":
		c.EventLog = v
	case "interactive_action":
		c.InteractiveAction = detect.Action(v)
	case "fail_mode":
		c.FailMode = detect.FailMode(v)
	case "state_dir":
		c.StateDir = v
	case "policy":
		c.PolicyFile = v
	case "policy_compiler":
		c.PolicyCompiler = v
	case "rules_dir":
		c.RulesDir = v
	case "cluster_name":
		c.ClusterName = v
	case "cluster_id":
		c.ClusterID = v
	default:
		return false
	}
	return true
}

type simpleScanner struct {
	src string
	pos int
}

func (s *simpleScanner) eof() bool  { return s.pos >= len(s.src) }
func (s *simpleScanner) peek() byte { return s.src[s.pos] }

func (s *simpleScanner) consume(b byte) bool {
	if s.eof() || s.peek() != b {
		return false
	}
	s.pos++
	return true
}

func (s *simpleScanner) skipSpace() {
	for !s.eof() && (s.peek() == ' ' || s.peek() == '\t') {
		s.pos++
	}
}

// skipBlank skips whitespace, newlines and comments.
func (s *simpleScanner) skipBlank() {
	for !s.eof() {
		switch s.peek() {
		case ' ', '\t', '\n':
			s.pos++
		case '\r':
			if s.pos+1 >= len(s.src) || s.src[s.pos+1] != '\n' {
				return // a lone CR: not the plain form
			}
			s.pos++
		case '#':
			s.skipComment()
		default:
			return
		}
	}
}

func (s *simpleScanner) skipComment() {
	for !s.eof() && s.peek() != '\n' && s.peek() != '\r' {
		s.pos++
	}
}

// endOfLine consumes spaces, a comment and the line's end (or the file's).
func (s *simpleScanner) endOfLine() bool {
	s.skipSpace()
	if s.eof() {
		return true
	}
	if s.peek() == '#' {
		s.skipComment()
	}
	if s.eof() {
		return true
	}
	if s.peek() == '\r' {
		s.pos++
	}
	return s.consume('\n')
}

func (s *simpleScanner) bareKey() string {
	start := s.pos
	for !s.eof() {
		c := s.peek()
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			break
		}
		s.pos++
	}
	return s.src[start:s.pos]
}

// str reads a basic string without escapes or a literal string, both on
// one line.
func (s *simpleScanner) str() (string, bool) {
	if s.eof() {
		return "", false
	}
	q := s.peek()
	if q != '"' && q != '\'' {
		return "", false
	}
	if len(s.src)-s.pos >= 3 && s.src[s.pos+1] == q && s.src[s.pos+2] == q {
		return "", false // a multi-line string
	}
	s.pos++
	start := s.pos
	for !s.eof() {
		c := s.peek()
		switch {
		case c == q:
			v := s.src[start:s.pos]
			s.pos++
			return v, true
		case c == '\n' || c == '\r' || (q == '"' && c == '\\'):
			return "", false
		}
		s.pos++
	}
	return "", false
}

// strs reads an array of strings, which may span lines.
func (s *simpleScanner) strs() ([]string, bool) {
	if !s.consume('[') {
		return nil, false
	}
	out := []string{}
	for {
		s.skipBlank()
		if s.consume(']') {
			return out, true
		}
		v, ok := s.str()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		s.skipBlank()
		if s.consume(']') {
			return out, true
		}
		if !s.consume(',') {
			return nil, false
		}
	}
}
