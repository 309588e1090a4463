package detect

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// stdinShellCases are command lines with what the attached-stdin shell rule
// says of them: the table of docs/stdin.md.
var stdinShellCases = []struct {
	cmd  string
	want bool
}{
	// Shells reading commands from stdin.
	{"sh", true},
	{"/bin/sh", true},
	{"-sh", true},
	{"bash -i", true},
	{"bash -l", true},
	{"bash --norc --noprofile", true},
	{"bash --rcfile /tmp/rc", true},
	{"bash -o pipefail", true},
	{"sh +x", true},
	{"sh -s", true},
	{"sh -s arg1 arg2", true},
	{"bash -", true},
	{"bash -- -", true},
	{"ash", true},
	{"dash", true},
	{"zsh", true},
	{"ksh", true},
	{"mksh", true},
	{"hush", true},
	{"tcsh", true},
	{"csh", true},
	{"fish", true},
	{"yash", true},
	{"busybox sh", true},
	{"/bin/busybox sh", true},
	{"busybox ash", true},
	{"busybox -- sh -s", true},
	{"toybox sh", true},
	// Interpreters with no program argument, or reading it from stdin.
	{"python3", true},
	{"python3 -", true},
	{"python3 -u", true},
	{"/usr/bin/python3.12", true},
	{"python", true},
	{"python2.7", true},
	{"python3 -W ignore", true},
	{"python3 -i script.py", true},
	{"python3 -m code", true},
	{"python3 -masyncio", true},
	{"pypy3", true},
	{"perl", true},
	{"perl -", true},
	{"perl -w", true},
	{"ruby", true},
	{"irb", true},
	{"node", true},
	{"node -i", true},
	{"node -", true},
	{"nodejs", true},
	{"php", true},
	{"php -a", true},
	{"php8.2", true},
	{"lua", true},
	{"lua5.4 -", true},
	{"luajit", true},
	{"tclsh", true},
	{"expect", true},
	// Behind wrappers.
	{"env sh", true},
	{"/usr/bin/env sh", true},
	{"env -i PATH=/bin sh", true},
	{"env -u HOME sh -s", true},
	{"env -S 'sh -s'", true},
	{"env --split-string=bash", true},
	{"nice sh", true},
	{"nice -n 10 sh", true},
	{"nice -10 bash", true},
	{"nohup sh", true},
	{"setsid sh", true},
	{"setsid -w bash", true},
	{"stdbuf -oL sh", true},
	{"stdbuf -i 0 -o 0 sh", true},
	{"timeout 3600 sh", true},
	{"timeout -s KILL 1h python3", true},
	{"ionice -c 3 sh", true},
	{"taskset 0x1 sh", true},
	{"chrt 0 sh", true},
	{"time sh", true},
	{"env nice nohup setsid sh", true},
	{"busybox env sh", true},
	{"chroot /", true},
	{"chroot / sh", true},
	{"unshare", true},
	{"nsenter -t 1 -m", true},
	{"su", true},
	{"su -s /bin/sh nobody", true},
	{"su - nobody", true},
	{"su nobody -c id", false},
	{"su - nobody -c id", false},
	{"sudo -s", true},
	{"sudo -i", true},
	{"sudo sh", true},
	{"sudo -u nobody sh", true},
	{"script -q /dev/null", true},

	// Command strings and scripts: the commands are in the arguments.
	{"sh -c id", false},
	{"sh -c 'cat > /tmp/x'", false},
	{"bash -ec 'echo hi'", false},
	{"bash -lc 'id'", false},
	{"sh /entrypoint.sh", false},
	{"sh -x /entrypoint.sh", false},
	{"bash --version", false},
	{"sh -- /entrypoint.sh", false},
	{"busybox sh -c id", false},
	{"fish -c id", false},
	{"python3 -c 'print(1)'", false},
	{"python3 script.py", false},
	{"python3 -u app.py", false},
	{"python3 -m http.server", false},
	{"python3 -V", false},
	{"python3 --version", false},
	{"perl -e 'print 1'", false},
	{"perl -ne 'print'", false},
	{"perl script.pl", false},
	{"ruby -e 'p 1'", false},
	{"ruby app.rb", false},
	{"node -e 1", false},
	{"node --eval=1", false},
	{"node -p 1", false},
	{"node server.js", false},
	{"node --version", false},
	{"php -r 'echo 1;'", false},
	{"php -f x.php", false},
	{"php index.php", false},
	{"php -v", false},
	{"lua -e 'print(1)'", false},
	{"lua script.lua", false},
	{"lua -v", false},
	{"env sh -c id", false},
	{"env", false},
	{"env FOO=1", false},
	{"env --version", false},
	{"nice", false},
	{"nohup ./server", false},
	{"setsid ./server", false},
	{"timeout 5", false},
	{"sudo -s id", false},
	{"sudo", false},
	{"su -c id", false},
	{"su --command=id", false},
	{"script -c id /dev/null", false},
	{"busybox", false},
	{"busybox tar xf -", false},
	{"ionice -p 1", false},

	// Commands that read data, not commands, from stdin (kubectl cp and
	// friends): not in the table.
	{"tar xf -", false},
	{"tar xmf - -C /tmp", false},
	{"tar cf - /data", false},
	{"cat", false},
	{"cat > /tmp/x", false},
	{"tee /tmp/x", false},
	{"dd of=/tmp/x", false},
	{"gzip -d", false},
	{"gunzip", false},
	{"base64 -d", false},
	{"rsync --server -vlogDtpre.iLsfxC . /data", false},
	{"xargs echo", false},
	{"env tar xf -", false},
	{"nice tar xf -", false},
	{"", false},
}

func splitCmd(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	inWord, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unterminated quote in %q", s)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

func TestReadsStdin(t *testing.T) {
	for _, tt := range stdinShellCases {
		t.Run(tt.cmd, func(t *testing.T) {
			if got := ReadsStdin(splitCmd(t, tt.cmd)); got != tt.want {
				t.Errorf("ReadsStdin(%s) = %v, want %v", tt.cmd, got, tt.want)
			}
		})
	}
}

func stdinFacts(op Operation, terminal bool, stdin Stdin, args ...string) Facts {
	return Facts{
		Operation: op,
		Process:   Process{Known: true, Args: args, Terminal: terminal},
		Stdin:     stdin,
		Container: Container{ID: "22858e7c2c55d6b8fa2db42b", Name: "app", PodName: "web-1", PodNamespace: "shop"},
	}
}

// TestStdinShell: the rule needs an exec or container start, no terminal,
// attached stdin and a command reading stdin.
func TestStdinShell(t *testing.T) {
	sync := stdinFacts(OpExec, false, StdinAttached, "sh")
	sync.ExecKind = ExecSync
	unknown := stdinFacts(OpExec, false, StdinAttached, "sh")
	unknown.Process = Process{}
	tests := []struct {
		name  string
		facts Facts
		want  bool
	}{
		{"exec -i sh", stdinFacts(OpExec, false, StdinAttached, "sh"), true},
		{"container start with stdin, sh", stdinFacts(OpContainerStart, false, StdinAttached, "/bin/sh"), true},
		{"exec sh without stdin", stdinFacts(OpExec, false, StdinNone, "sh"), false},
		{"exec sh, stdin unknown", stdinFacts(OpExec, false, StdinUnknown, "sh"), false},
		{"exec -it sh: interactive, not this rule", stdinFacts(OpExec, true, StdinAttached, "sh"), false},
		{"exec -i tar xf -", stdinFacts(OpExec, false, StdinAttached, "tar", "xf", "-"), false},
		{"exec -i sh -c", stdinFacts(OpExec, false, StdinAttached, "sh", "-c", "id"), false},
		{"ExecSync", sync, false},
		{"process unknown", unknown, false},
		{"other operation", stdinFacts(OpUnknown, false, StdinAttached, "sh"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StdinShell(tt.facts); got != tt.want {
				t.Errorf("StdinShell = %v, want %v", got, tt.want)
			}
			if InteractiveEntryLeader(tt.facts) && StdinShell(tt.facts) {
				t.Errorf("both rules fired")
			}
		})
	}
}

// TestDecideStdinShell: the interactive_action shorthand treats an
// attached-stdin shell as it treats an interactive session.
func TestDecideStdinShell(t *testing.T) {
	shell := stdinFacts(OpExec, false, StdinAttached, "sh")
	start := stdinFacts(OpContainerStart, false, StdinAttached, "sh")
	tar := stdinFacts(OpExec, false, StdinAttached, "tar", "xf", "-", "-C", "/tmp")
	tests := []struct {
		name                string
		facts               Facts
		policy              Policy
		shell, alert, block bool
		reason              string
	}{
		{"alert", shell, Policy{ActionAlert, FailOpen, ""}, true, true, false, ""},
		{"log", shell, Policy{ActionLog, FailOpen, ""}, true, false, false, ""},
		{"block", shell, Policy{ActionBlock, FailOpen, ""}, true, true, true,
			`execguard: shell with attached stdin in container "app" of pod shop/web-1 blocked by policy`},
		{"block container start", start, Policy{ActionBlock, FailOpen, ""}, true, true, true,
			`execguard: shell with attached stdin in container "app" of pod shop/web-1 blocked by policy`},
		{"broken config, closed", shell, Policy{ActionAlert, FailClosed, "bad"}, true, true, true,
			`execguard: shell with attached stdin in container "app" of pod shop/web-1 refused: the configuration or policy could not be used`},
		{"kubectl cp's tar under block", tar, Policy{ActionBlock, FailClosed, ""}, false, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.facts, tt.policy)
			if d.StdinShell != tt.shell || d.Alert != tt.alert || d.Block != tt.block || d.Interactive {
				t.Errorf("stdin shell, alert, block, interactive = %v, %v, %v, %v; want %v, %v, %v, false",
					d.StdinShell, d.Alert, d.Block, d.Interactive, tt.shell, tt.alert, tt.block)
			}
			if !strings.HasPrefix(d.Reason, tt.reason) || (tt.reason == "") != (d.Reason == "") {
				t.Errorf("reason = %q, want %q", d.Reason, tt.reason)
			}
		})
	}
}

// TestStdinEvent: the event records stdin; an attached-stdin shell's alert
// is its own rule's, and process.interactive stays false.
func TestStdinEvent(t *testing.T) {
	tests := []struct {
		name      string
		facts     Facts
		stdin     string
		source    string
		shell     bool
		alertRule string
	}{
		{"exec -i sh", stdinFacts(OpExec, false, StdinAttached, "sh"), "attached", "pipe", true, StdinShellRuleID},
		{"exec -it sh", stdinFacts(OpExec, true, StdinNone, "sh"), "terminal", "pipe", false, RuleID},
		{"exec id", stdinFacts(OpExec, false, StdinNone, "id"), "none", "pipe", false, ""},
		{"exec -i tar", stdinFacts(OpExec, false, StdinAttached, "tar", "xf", "-"), "attached", "pipe", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.facts
			f.StdinSource = tt.source
			d := Decide(f, DefaultPolicy())
			buf, err := Encode(Record{Facts: f, Decision: d, Policy: DefaultPolicy(), Host: Host{Name: "n"}, Time: time.Unix(1, 0)})
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(buf)), "\n")
			var ev struct {
				Process struct {
					Interactive bool `json:"interactive"`
				} `json:"process"`
				Execguard struct {
					Stdin       string `json:"stdin"`
					StdinSource string `json:"stdin_source"`
					StdinShell  bool   `json:"stdin_shell"`
				} `json:"execguard"`
			}
			if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Execguard.Stdin != tt.stdin || ev.Execguard.StdinSource != tt.source || ev.Execguard.StdinShell != tt.shell {
				t.Errorf("execguard.stdin, stdin_source, stdin_shell = %q, %q, %v; want %q, %q, %v",
					ev.Execguard.Stdin, ev.Execguard.StdinSource, ev.Execguard.StdinShell, tt.stdin, tt.source, tt.shell)
			}
			if ev.Process.Interactive != f.Process.Terminal {
				t.Errorf("process.interactive = %v, want %v", ev.Process.Interactive, f.Process.Terminal)
			}
			want := 1
			if tt.alertRule != "" {
				want = 2
			}
			if len(lines) != want {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), want, buf)
			}
			if tt.alertRule == "" {
				return
			}
			var al struct {
				Rule struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"rule"`
				Kibana struct {
					Alert struct {
						Severity string `json:"severity"`
					} `json:"alert"`
				} `json:"kibana"`
			}
			if err := json.Unmarshal([]byte(lines[1]), &al); err != nil {
				t.Fatalf("alert line: %v", err)
			}
			if al.Rule.ID != tt.alertRule || al.Kibana.Alert.Severity != "high" {
				t.Errorf("alert rule %s severity %s, want %s high", al.Rule.ID, al.Kibana.Alert.Severity, tt.alertRule)
			}
			if tt.alertRule == StdinShellRuleID && al.Rule.Name != StdinShellRuleName {
				t.Errorf("alert rule name %q", al.Rule.Name)
			}
		})
	}
}

// TestStdinDocListsCommands: docs/stdin.md names every command of the table.
func TestStdinDocListsCommands(t *testing.T) {
	doc, err := os.ReadFile("../docs/stdin.md")
	if err != nil {
		t.Fatal(err)
	}
	for name := range commands() {
		if !strings.Contains(string(doc), "`"+name+"`") && !strings.Contains(string(doc), "`"+name+" ") {
			t.Errorf("docs/stdin.md does not name %s", name)
		}
	}
}

// FuzzReadsStdin: any command line is classified without a panic, and env
// in front of a command that is neither an option nor an assignment changes
// nothing.
func FuzzReadsStdin(f *testing.F) {
	for _, tt := range stdinShellCases {
		f.Add(strings.ReplaceAll(tt.cmd, " ", "\x00"))
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		got := ReadsStdin(args)
		if len(args) > 4 || args[0] == "" || strings.HasPrefix(args[0], "-") || strings.Contains(args[0], "=") {
			return
		}
		if wrapped := ReadsStdin(append([]string{"env"}, args...)); wrapped != got {
			t.Errorf("ReadsStdin(%q) = %v, but behind env %v", args, got, wrapped)
		}
	})
}

func BenchmarkReadsStdin(b *testing.B) {
	args := []string{"/usr/bin/env", "-i", "PATH=/bin", "nice", "-n", "10", "python3", "-u", "app.py"}
	for i := 0; i < b.N; i++ {
		ReadsStdin(args)
	}
}
