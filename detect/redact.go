package detect

import (
	"fmt"
	"regexp"
	"strings"
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
	`(?i)(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|credential)[\w.-]*\s*[=:]\s*(.+)`,
	`://[^/@\s:]+:([^/@\s]+)@`,
	`(?i)\bauthorization\s*[=:]\s*(?:[\w-]+\s+)?(\S+)`,
	`(?i)\bbearer\s+(\S+)`,
	`\b(AKIA[0-9A-Z]{16})\b`,
	`(?i)\b(?:aws_secret_access_key|aws_session_token)\s+(\S+)`,
	`(?:^|\s)(?:-u|--user|--proxy-user)(?:=|\s+)?[^\s:=]+:(\S+)`,
	`(?i)\b(?:mysql|mariadb)[\w-]*\s(?:[^;&|\n]*\s)?-p(\S+)`,
	`\beyJ[\w-]+\.[\w-]+\.[\w-]*`,
	`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)`,
}

// DefaultRedactFlags are flags whose following argument is a secret
// (`--password hunter2`, `aws configure set aws_secret_access_key X`).
// They are matched without regard to case.
var DefaultRedactFlags = []string{"--password", "--passwd", "--token", "--secret", "--api-key", "--client-secret", "--access-key", "aws_secret_access_key", "aws_session_token"}

// Redactor rewrites process arguments and environments for events. The
// decision is made on the real values; only what is recorded is redacted.
type Redactor struct {
	patterns []*regexp.Regexp
	flags    map[string]bool
	// envValues names the variables whose values are recorded; of the
	// others events carry the name only.
	envValues map[string]bool
}

// NewRedactor compiles patterns (RE2 syntax, so no pattern can make
// matching slow) and takes flags and envValues as they are.
func NewRedactor(patterns, flags, envValues []string) (*Redactor, error) {
	r := &Redactor{flags: map[string]bool{}, envValues: map[string]bool{}}
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("redact pattern %q: %v", p, err)
		}
		r.patterns = append(r.patterns, re)
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
	for _, re := range r.patterns {
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
