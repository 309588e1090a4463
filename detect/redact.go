package detect

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// Redacted replaces secrets in what events record.
const Redacted = "[REDACTED]"

// DefaultRedactPatterns find secrets inside one argument: key=value and
// key: value forms of secret-sounding keys (blanks allowed around the
// separator), passwords in URLs, Authorization headers of any scheme, bearer
// tokens, AWS access key ids and secret keys, user:password after curl-style
// -u/--user, mysql-style -pPASSWORD, JWTs and PEM private keys. Where a
// pattern has a group, only the group is replaced.
var DefaultRedactPatterns = []string{
	redactSecretKey, redactURLPassword, redactAuthorization, redactBearer, redactAWSKeyID,
	redactAWSSecret, redactUserPassword, redactMySQLPassword, redactJWT, redactPrivateKey,
}

const (
	redactSecretKey     = `(?i)(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|credential)[\w.-]*\s*[=:]\s*(.+)`
	redactURLPassword   = `://[^/@\s:]+:([^/@\s]+)@`
	redactAuthorization = `(?i)\bauthorization\s*[=:]\s*(?:[\w-]+\s+)?(\S+)`
	redactBearer        = `(?i)\bbearer\s+(\S+)`
	redactAWSKeyID      = `\b(AKIA[0-9A-Z]{16})\b`
	redactAWSSecret     = `(?i)\b(?:aws_secret_access_key|aws_session_token)\s+(\S+)`
	redactUserPassword  = `(?:^|\s)(?:-u|--user|--proxy-user)(?:=|\s+)?[^\s:=]+:(\S+)`
	redactMySQLPassword = `(?i)\b(?:mysql|mariadb)[\w-]*\s(?:[^;&|\n]*\s)?-p(\S+)`
	redactJWT           = `\beyJ[\w-]+\.[\w-]+\.[\w-]*`
	redactPrivateKey    = `-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)`
)

// defaultHints are, for a built-in pattern, strings one of which an ASCII
// argument must hold for the pattern to match (ASCII-case-insensitively:
// lower-case here); nil for any other pattern. An argument that holds none
// never costs the pattern's compilation. (Non-ASCII arguments are always
// matched: (?i) folds K and s with the Kelvin sign and the long s.)
func defaultHints(pattern string) []string {
	switch pattern {
	case redactSecretKey:
		return []string{"pass", "pwd", "secret", "token", "api", "access", "credential"}
	case redactURLPassword:
		return []string{"://"}
	case redactAuthorization:
		return []string{"authorization"}
	case redactBearer:
		return []string{"bearer"}
	case redactAWSKeyID:
		return []string{"akia"}
	case redactAWSSecret:
		return []string{"aws_s"}
	case redactUserPassword:
		return []string{"-u"}
	case redactMySQLPassword:
		return []string{"mysql", "mariadb"}
	case redactJWT:
		return []string{"eyj"}
	case redactPrivateKey:
		return []string{"-----begin"}
	}
	return nil
}

// DefaultRedactFlags are flags whose following argument is a secret
// (`--password hunter2`, `aws configure set aws_secret_access_key X`).
// They are matched without regard to case.
var DefaultRedactFlags = []string{"--password", "--passwd", "--token", "--secret", "--api-key", "--client-secret", "--access-key", "aws_secret_access_key", "aws_session_token"}

// Redactor rewrites process arguments and environments for events. The
// decision is made on the real values; only what is recorded is redacted.
// It is safe for concurrent use.
type Redactor struct {
	patterns []*pattern
	flags    map[string]bool
	// envValues names the variables whose values are recorded; of the
	// others events carry the name only.
	envValues map[string]bool
}

// pattern is one redaction pattern. The built-in ones are compiled on first
// use, and only for an argument that could match (hints): compiling them
// all costs a runtime call more than the rest of its event.
type pattern struct {
	src   string
	hints []string
	once  sync.Once
	re    *regexp.Regexp
}

func (p *pattern) regexp() *regexp.Regexp {
	p.once.Do(func() {
		if p.re == nil {
			p.re = regexp.MustCompile(p.src) // a built-in pattern: TestDefaultPatternsCompile
		}
	})
	return p.re
}

// mayMatch reports whether s could match: false only when s is ASCII and
// holds none of the hints.
func (p *pattern) mayMatch(s string) bool {
	if p.hints == nil {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	for _, h := range p.hints {
		if containsFoldASCII(s, h) {
			return true
		}
	}
	return false
}

// containsFoldASCII reports whether the ASCII string s holds lower, a
// lower-case ASCII string, in any case.
func containsFoldASCII(s, lower string) bool {
	n := len(lower)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// NewRedactor takes patterns (RE2 syntax, so no pattern can make matching
// slow; all but the built-in ones compiled now, to report an invalid one),
// flags and envValues.
func NewRedactor(patterns, flags, envValues []string) (*Redactor, error) {
	r := &Redactor{flags: map[string]bool{}, envValues: map[string]bool{}}
	for _, src := range patterns {
		p := &pattern{src: src, hints: defaultHints(src)}
		if p.hints == nil {
			re, err := regexp.Compile(src)
			if err != nil {
				return nil, fmt.Errorf("redact pattern %q: %v", src, err)
			}
			p.re = re
		}
		r.patterns = append(r.patterns, p)
	}
	for _, f := range flags {
		r.flags[strings.ToLower(f)] = true
	}
	for _, n := range envValues {
		r.envValues[n] = true
	}
	return r, nil
}

// Args returns args with secrets replaced; args itself is left alone.
func (r *Redactor) Args(args []string) []string {
	if r == nil {
		return args
	}
	var out []string
	set := func(i int, v string) {
		if out == nil {
			out = append([]string(nil), args...)
		}
		out[i] = v
	}
	mysql := false // a mysql-family client came earlier: -pSECRET is its password
	for i, a := range args {
		if i > 0 {
			prev := strings.ToLower(args[i-1])
			if r.flags[prev] {
				set(i, Redacted)
				continue
			}
			// curl -u user:password, --user, --proxy-user: the part after
			// the first colon (a bare user name has none).
			if (prev == "-u" || prev == "--user" || prev == "--proxy-user") && len(r.patterns) > 0 {
				if user, _, ok := strings.Cut(a, ":"); ok {
					set(i, user+":"+Redacted)
					continue
				}
			}
		}
		if mysql && len(a) > 2 && strings.HasPrefix(a, "-p") && len(r.patterns) > 0 {
			set(i, "-p"+Redacted)
			continue
		}
		if v := r.redact(a); v != a {
			set(i, v)
		}
		if n := strings.ToLower(baseName(a)); strings.HasPrefix(n, "mysql") || strings.HasPrefix(n, "mariadb") {
			mysql = true
		}
	}
	if out == nil {
		return args
	}
	return out
}

func (r *Redactor) redact(s string) string {
	for _, p := range r.patterns {
		if !p.mayMatch(s) {
			continue
		}
		re := p.regexp()
		if re.NumSubexp() == 0 {
			s = re.ReplaceAllLiteralString(s, Redacted)
			continue
		}
		s = replaceGroups(re, s)
	}
	return s
}

// replaceGroups replaces each match's first group by Redacted.
func replaceGroups(re *regexp.Regexp, s string) string {
	idx := re.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		if m[2] < 0 {
			continue
		}
		b.WriteString(s[last:m[2]])
		b.WriteString(Redacted)
		last = m[3]
	}
	b.WriteString(s[last:])
	return b.String()
}

// Env returns what events record of an environment: NAME=value for the
// variables whose values are allowed, the bare NAME for the others.
func (r *Redactor) Env(env []string) []string {
	if len(env) == 0 {
		return nil
	}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if r != nil && r.envValues[name] {
			out = append(out, kv)
		} else {
			out = append(out, name)
		}
	}
	return out
}
