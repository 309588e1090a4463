package policy

import (
	"math/rand"
	"strings"
	"testing"
	"time"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern string
		fl      flavor
		text    string
		want    bool
	}{
		// D4C's targetFilePath/processExecutable examples.
		{"/usr/bin/echo", path, "/usr/bin/echo", true},
		{"/usr/bin/echo", path, "/usr/bin/echoo", false},
		{"/usr/bin/*", path, "/usr/bin/cat", true},
		{"/usr/bin/*", path, "/usr/bin/", true},
		{"/usr/bin/*", path, "/usr/bin/x/cat", false},
		{"/usr/local/**", path, "/usr/local/bin/something", true},
		{"/usr/local/**", path, "/usr/local/", true},
		{"/usr/local/**", path, "/usr/local", false},
		{"/usr/sbin*", path, "/usr/sbin", true},
		{"/usr/sbin*", path, "/usr/sbin2", true},
		{"/usr/sbin*", path, "/usr/sbin/x", false},
		{"/opt/**/bin/*.sh", path, "/opt/a/b/c/bin/run.sh", true},
		{"/opt/**/bin/*.sh", path, "/opt/bin/run.sh", false}, // ** sits between two slashes
		{"/opt/**/bin/*.sh", path, "/opt/x/bin/sub/run.sh", false},
		{"/opt/**/bin/*.sh", path, "/opt/x/bin/bin/run.sh", true},
		{"*/x", path, "a/x", true},
		{"*/x", path, "a/b/x", false},
		{"**/x", path, "a/b/x", true},
		{"/a/*/c", path, "/a//c", true},
		{"/a/*b*c/d", path, "/a/xbybc/d", true},
		{"/a/*b*c/d", path, "/a/xb/c/d", false},
		{"***", path, "a/b", true},
		// any-star globs, used for processArgs words.
		{"*.log", anyStar, "/var/log/x.log", true},
		{"/var/log/*", anyStar, "/var/log/a/b", true},
		{"a*b*c", anyStar, "aXXbYYc", true},
		{"a*b*c", anyStar, "aXXcYYb", false},
		{"*ab*ab*", anyStar, "aabab", true},
		{"*aaa", anyStar, "aaaa", true},
		{"*aaa", anyStar, "aa", false},
		// trailing-only.
		{"web-*", trailing, "web-1", true},
		{"web-*", trailing, "web-", true},
		{"web-*", trailing, "api-1", false},
		{"web", trailing, "web-1", false},
		{"*", trailing, "anything", true},
	}
	for _, tt := range tests {
		g, perr := compileGlob(tt.pattern, tt.fl)
		if perr != nil {
			t.Errorf("compile %q: %v", tt.pattern, perr)
			continue
		}
		if got := g.match(tt.text); got != tt.want {
			t.Errorf("%q (flavor %d) on %q = %v, want %v", tt.pattern, tt.fl, tt.text, got, tt.want)
		}
	}
}

func TestGlobErrors(t *testing.T) {
	tests := []struct {
		pattern string
		fl      flavor
		want    string
	}{
		{"", path, "empty value"},
		{strings.Repeat("a", maxPattern+1), path, "longer than 511 bytes"},
		{"a\x00b", anyStar, "NUL"},
		{"*-web", trailing, "only a trailing *"},
		{"we*b", trailing, "only a trailing *"},
		{"web-**", trailing, "only a trailing *"},
	}
	for _, tt := range tests {
		_, perr := compileGlob(tt.pattern, tt.fl)
		if perr == nil || !strings.Contains(perr.msg, tt.want) {
			t.Errorf("compile %q: error %v, want one containing %q", tt.pattern, perr, tt.want)
		}
	}
}

// refMatch is a plain backtracking matcher: slow, obviously right.
func refMatch(p, s string, fl flavor) bool {
	if p == "" {
		return s == ""
	}
	if p[0] != '*' {
		return s != "" && s[0] == p[0] && refMatch(p[1:], s[1:], fl)
	}
	j := 0
	for j < len(p) && p[j] == '*' {
		j++
	}
	crossSlash := fl != path || j > 1
	for k := 0; k <= len(s); k++ {
		if refMatch(p[j:], s[k:], fl) {
			return true
		}
		if k < len(s) && s[k] == '/' && !crossSlash {
			return false
		}
	}
	return false
}

// TestGlobAgainstReference compares the automaton, on patterns of one and
// of several state words, with the backtracking reference.
func TestGlobAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	alphabet := "ab/*"
	for i := 0; i < 20000; i++ {
		n := 1 + rng.Intn(10)
		if i%10 == 0 {
			n = 60 + rng.Intn(140) // several words of state
		}
		var pb strings.Builder
		for j := 0; j < n; j++ {
			pb.WriteByte(alphabet[rng.Intn(len(alphabet))])
		}
		p := pb.String()
		var sb strings.Builder
		for j := 0; j < rng.Intn(2*n+3); j++ {
			sb.WriteByte("ab/"[rng.Intn(3)])
		}
		s := sb.String()
		for _, fl := range []flavor{path, anyStar} {
			a := newAutomaton(p, fl)
			if got, want := a.match(s), refMatch(p, s, fl); got != want {
				t.Fatalf("pattern %q (flavor %d, %d words) on %q: automaton %v, reference %v", p, fl, a.w, s, got, want)
			}
		}
	}
}

// A pattern that makes backtracking matchers exponential runs in linear
// time here.
func TestGlobNoBlowUp(t *testing.T) {
	p := strings.Repeat("*a", 200) + "b"
	g, perr := compileGlob(p, anyStar)
	if perr != nil {
		t.Fatal(perr)
	}
	text := strings.Repeat("a", 1<<20)
	start := time.Now()
	if g.match(text) {
		t.Fatal("matched")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("matching 1 MiB took %v", d)
	}
}
