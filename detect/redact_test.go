package detect

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRedactorDefaults(t *testing.T) {
	r, err := NewRedactor(DefaultRedactPatterns, DefaultRedactFlags, []string{"TERM"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, want []string
	}{
		{[]string{"sh", "-c", "id"}, []string{"sh", "-c", "id"}},
		{[]string{"mysql", "--password=hunter2", "-u", "root"}, []string{"mysql", "--password=[REDACTED]", "-u", "root"}},
		{[]string{"env", "API_KEY=abc", "DB_PASSWORD: x y"}, []string{"env", "API_KEY=[REDACTED]", "DB_PASSWORD: [REDACTED]"}},
		{[]string{"vault", "login", "--token", "s.123", "--other"}, []string{"vault", "login", "--token", "[REDACTED]", "--other"}},
		{[]string{"curl", "https://bob:pw@example.com/x"}, []string{"curl", "https://bob:[REDACTED]@example.com/x"}},
		{[]string{"curl", "-H", "Authorization: Bearer eyJabc.def"}, []string{"curl", "-H", "Authorization: Bearer [REDACTED]"}},
		{[]string{"aws", "AKIAABCDEFGHIJKLMNOP"}, []string{"aws", "[REDACTED]"}},
		// The forms a review found unredacted, one argument list as
		// crictl exec <c> echo ... recorded them.
		{
			[]string{"echo", "mysql", "-uroot", "-pS3CRET1", "--PASSWORD", "S3CRET2", "--password", "S3CRET3", "curl", "-u", "admin:S3CRET4",
				"Authorization: Basic S3CRET5", "aws_secret_access_key", "S3CRET6", "password = S3CRET7", "eyJhbGciOiJIUzI1NiJ9.S3CRET8.sig"},
			[]string{"echo", "mysql", "-uroot", "-p[REDACTED]", "--PASSWORD", "[REDACTED]", "--password", "[REDACTED]", "curl", "-u", "admin:[REDACTED]",
				"Authorization: Basic [REDACTED]", "aws_secret_access_key", "[REDACTED]", "password = [REDACTED]", "[REDACTED]"},
		},
		{[]string{"sh", "-c", "mysql -h db -uroot -pS3CRET && echo ok"}, []string{"sh", "-c", "mysql -h db -uroot -p[REDACTED] && echo ok"}},
		{[]string{"sh", "-c", "curl -u admin:S3CRET https://x"}, []string{"sh", "-c", "curl -u admin:[REDACTED] https://x"}},
		{[]string{"curl", "--user=admin:S3CRET"}, []string{"curl", "--user=admin:[REDACTED]"}},
		{[]string{"sh", "-c", "aws configure set aws_secret_access_key S3CRET"}, []string{"sh", "-c", "aws configure set aws_secret_access_key [REDACTED]"}},
		{[]string{"sh", "-c", "echo '-----BEGIN RSA PRIVATE KEY-----\nMIIS3CRET\n-----END RSA PRIVATE KEY-----' > k"}, []string{"sh", "-c", "echo '[REDACTED]' > k"}},
		{[]string{"printf", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1S3CRET"}, []string{"printf", "[REDACTED]"}},
		// What must stay: a user name alone, -p of other programs, words.
		{[]string{"mysql", "-u", "root", "-h", "db"}, []string{"mysql", "-u", "root", "-h", "db"}},
		{[]string{"find", "/", "-print"}, []string{"find", "/", "-print"}},
		{[]string{"mkdir", "-p", "/tmp/x"}, []string{"mkdir", "-p", "/tmp/x"}},
		{[]string{"echo", "basic", "usage"}, []string{"echo", "basic", "usage"}},
	}
	for _, tt := range tests {
		in := append([]string(nil), tt.in...)
		if got := r.Args(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Args(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !reflect.DeepEqual(in, tt.in) {
			t.Errorf("Args changed its input: %q", tt.in)
		}
	}
	if got, want := r.Env([]string{"TERM=xterm", "AWS_SECRET=x", "EMPTY"}), []string{"TERM=xterm", "AWS_SECRET", "EMPTY"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Env = %q, want %q", got, want)
	}
	var none *Redactor
	if got := none.Env([]string{"TERM=xterm"}); !reflect.DeepEqual(got, []string{"TERM"}) {
		t.Errorf("nil redactor Env = %q, want names only", got)
	}
	if _, err := NewRedactor([]string{"(unclosed"}, nil, nil); err == nil || !strings.Contains(err.Error(), "(unclosed") {
		t.Errorf("bad pattern: %v", err)
	}
}

// TestEncodeRedacts: documents carry redacted arguments and environment
// names only, in every place arguments appear.
func TestEncodeRedacts(t *testing.T) {
	r, err := NewRedactor(DefaultRedactPatterns, DefaultRedactFlags, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := Facts{Operation: OpExec, ExecKind: ExecEngine, Container: Container{ID: "c"}}
	f.Process = Process{Known: true, Terminal: true, Args: []string{"psql", "--password=hunter2"}, Env: []string{"PGPASSWORD=hunter2", "TERM=xterm"}}
	d := Decide(f, DefaultPolicy())
	buf, err := Encode(Record{Facts: f, Decision: d, Time: time.Unix(0, 0), Redactor: r})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(buf), "hunter2") || strings.Contains(string(buf), "xterm") {
		t.Fatalf("secret in the record: %s", buf)
	}
	var doc struct {
		Process struct {
			Args    []string `json:"args"`
			EnvVars []string `json:"env_vars"`
		} `json:"process"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(string(buf), "\n", 2)[0]), &doc); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(doc.Process.EnvVars, []string{"PGPASSWORD", "TERM"}) || doc.Process.Args[1] != "--password=[REDACTED]" {
		t.Errorf("process %+v", doc.Process)
	}
}

// BenchmarkRedactor is what the wrapper pays per decision call for
// redaction: compiling the default patterns, then redacting typical
// arguments and environment.
func BenchmarkRedactor(b *testing.B) {
	args := []string{"/bin/sh", "-c", "psql --host db --password=hunter2 -c 'select 1'"}
	env := []string{"PATH=/usr/bin", "HOME=/root", "TERM=xterm", "PGPASSWORD=x"}
	for b.Loop() {
		r, err := NewRedactor(DefaultRedactPatterns, DefaultRedactFlags, nil)
		if err != nil {
			b.Fatal(err)
		}
		r.Args(args)
		r.Env(env)
	}
}

func TestDefaultPatternsCompile(t *testing.T) {
	for _, p := range DefaultRedactPatterns {
		if _, err := regexp.Compile(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
		if defaultHints(p) == nil {
			t.Errorf("%q: built-in pattern without hints: it would be compiled on every call", p)
		}
	}
}

// TestRedactHintsHold: a built-in pattern is skipped only for an argument
// it cannot match. Arguments are put together from the words the patterns
// look for, in mixed case, and what surrounds them.
func TestRedactHintsHold(t *testing.T) {
	parts := []string{
		"password", "PassWd", "pwd", "SECRET", "token", "api_key", "Api-Key", "access-key", "credential", "://", "bob:pw@",
		"authorization", "Bearer", "AKIAABCDEFGHIJKLMNOP", "aws_secret_access_key", "AWS_SESSION_TOKEN", "-u", "--user", "--proxy-user",
		"mysql", "MariaDB", "-pS3", "eyJ", "eyJa.b.c", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----",
		"=", ":", " ", "\n", "x", "admin:pw", "a.b", "-", "_", "@", "/", "s3cr",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	res := make([]*regexp.Regexp, len(DefaultRedactPatterns))
	for i, p := range DefaultRedactPatterns {
		res[i] = regexp.MustCompile(p)
	}
	matched := make([]int, len(res))
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		for k := rng.IntN(6) + 1; k > 0; k-- {
			w := parts[rng.IntN(len(parts))]
			if rng.IntN(3) == 0 {
				w = strings.ToUpper(w)
			}
			b.WriteString(w)
			if rng.IntN(2) == 0 {
				b.WriteString(parts[len(parts)-1-rng.IntN(12)])
			}
		}
		s := b.String()
		for i, re := range res {
			if !re.MatchString(s) {
				continue
			}
			matched[i]++
			p := &pattern{src: DefaultRedactPatterns[i], hints: defaultHints(DefaultRedactPatterns[i])}
			if !p.mayMatch(s) {
				t.Fatalf("pattern %q matches %q, but its hints say it cannot", p.src, s)
			}
		}
	}
	for i, n := range matched {
		if n == 0 {
			t.Errorf("pattern %q never matched: the test shows nothing of its hints", DefaultRedactPatterns[i])
		}
	}
}
