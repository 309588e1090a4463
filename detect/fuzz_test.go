package detect

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/execguard/execguard/detect/detecttest"
)

// FuzzEncode: whatever a container or a user puts in an exec's arguments,
// environment, working directory, names and labels, the record stays whole
// lines of JSON without raw control bytes, one document per line, and the
// arguments read back as they were given (invalid UTF-8 aside).
func FuzzEncode(f *testing.F) {
	f.Add("sh\x00-c\x00id", "TERM=xterm\x00SECRET=x", "/", "web", "busybox:1", "default", "app", "v", true)
	f.Add("\x1b[2J\x1b]0;title\x07\x00\r\n", "\xff\xfe=\x00", "\u2028", "\x00", "", "ns\n", "k\x1b", "\xc3", false)
	f.Add(strings.Repeat("é", maxArgBytes/2+1), "", "", "", "", "", "", "", true)
	f.Fuzz(func(t *testing.T, args, env, cwd, name, image, ns, labelKey, labelValue string, terminal bool) {
		fc := Facts{Operation: OpExec, ExecKind: ExecEngine}
		fc.Process = Process{Known: true, Args: strings.Split(args, "\x00"), Env: strings.Split(env, "\x00"), Cwd: cwd, Terminal: terminal}
		fc.Container = Container{ID: "c1", Name: name, Image: image, PodNamespace: ns, PodName: name, PodLabels: map[string]string{labelKey: labelValue}}
		d := Decide(fc, DefaultPolicy())
		buf, err := Encode(Record{Facts: fc, Decision: d, Host: Host{Name: "node"}, Time: time.Unix(0, 0)})
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		if err := detecttest.CheckRecord(buf); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(buf), "\n"), "\n")
		if want := 1 + btoi(d.Alert); len(lines) != want {
			t.Fatalf("%d lines, want %d", len(lines), want)
		}
		var doc struct {
			Process struct {
				Args []string `json:"args"`
			} `json:"process"`
		}
		if err := json.Unmarshal([]byte(lines[0]), &doc); err != nil {
			t.Fatal(err)
		}
		for i, a := range fc.Process.Args {
			if !utf8.ValidString(a) || i >= len(doc.Process.Args) {
				continue
			}
			// Long arguments are cut (execguard.truncated says so).
			if got := doc.Process.Args[i]; got != a && !(len(a) > maxArgBytes && strings.HasPrefix(a, got)) {
				t.Fatalf("argument %d reads back as %.80q, was %.80q", i, got, a)
			}
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestEscapeControls(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":"plain"}`, `{"a":"plain"}`},
		{"{\"a\":\"x\x7fy\"}", `{"a":"x\u007fy"}`},
		{"{\"a\":\"\u009b2J\u0080\u009f\"}", `{"a":"\u009b2J\u0080\u009f"}`},
		{"{\"a\":\"\u00a0é\u00c2\"}", "{\"a\":\"\u00a0é\u00c2\"}"}, // not controls
	}
	for _, tt := range tests {
		if got := string(escapeControls([]byte(tt.in))); got != tt.want {
			t.Errorf("escapeControls(%q) = %q, want %q", tt.in, got, tt.want)
		}
		var v any
		if err := json.Unmarshal(escapeControls([]byte(tt.in)), &v); err != nil {
			t.Errorf("escaped %q is not JSON: %v", tt.in, err)
		}
	}
}

// FuzzAppendString: the event encoder writes every string exactly as
// encoding/json does, so no argument a container controls can end a line,
// break out of its string or change its meaning on the way.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\x00\x1f\x7f", "<a>&\"\\", "\u2028\u2029", "\xff\xfe\xc3", "\u009b2J", "é€😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	})
}
