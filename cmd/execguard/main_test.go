package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/execguard/execguard/detect/policy"
	"github.com/execguard/execguard/detect/policy/policyfile"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLIStdin(t, "", args...)
}

func runCLIStdin(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
	}{
		{"valid", []string{"policy", "check", "testdata/namespaces.yaml"}, 0,
			[]string{"testdata/namespaces.yaml: ok: 4 selectors, 2 responses, revision "}},
		{"invalid: every error with position and hint", []string{"policy", "check", "testdata/invalid.yaml"}, 1, []string{
			"error: testdata/invalid.yaml:5:33: process.selectors[0].sessionLeaderInteractive: want true or false, got the string \"yes\"",
			"error: testdata/invalid.yaml:8:7: process.responses[0].actions: block without alert (hint: ",
			"testdata/invalid.yaml: invalid: 2 errors",
		}},
		{"several files: one invalid fails all", []string{"policy", "check", "testdata/namespaces.yaml", "testdata/invalid.yaml"}, 1, []string{
			"testdata/namespaces.yaml: ok", "testdata/invalid.yaml: invalid",
		}},
		{"missing file", []string{"policy", "check", "testdata/nope.yaml"}, 1,
			[]string{"error: testdata/nope.yaml: cannot read: no such file or directory"}},
		{"no file", []string{"policy", "check"}, 2, nil},
		{"unknown flag", []string{"policy", "check", "--nope", "testdata/namespaces.yaml"}, 2, nil},
		{"help", []string{"policy", "check", "-h"}, 0, nil},
		{"unknown command", []string{"polcy"}, 2, nil},
		{"unknown policy command", []string{"policy", "lint"}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestCheckJSON(t *testing.T) {
	code, out, _ := runCLI(t, "policy", "check", "--json", "testdata/invalid.yaml")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var res checkJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if res.Valid || len(res.Errors) != 2 || res.Errors[0].Line != 5 || res.Errors[0].Column != 33 ||
		res.Errors[0].Key != "process.selectors[0].sessionLeaderInteractive" || res.Errors[1].Hint == "" {
		t.Errorf("result %+v", res)
	}
}

func TestTestFlags(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
	}{
		{"interactive exec refused", []string{"--namespace", "shop", "--pod", "web-1", "--container", "app", "--tty", "--command", "sh -c 'echo hi'"}, 0, []string{
			"call:       exec sh -c 'echo hi' with a terminal as uid 0 in container app of pod shop/web-1",
			"selectors:  all, interactive\n",
			"#1 match [interactive] exclude [ops-maintenance, debug-pods] actions [alert, block]: applied (matched interactive)",
			"actions:    log, alert, block",
			"result:     block",
			`refused:    execguard: interactive exec into container "app" of pod shop/web-1 blocked by policy (selector interactive)`,
		}},
		{"excluded namespace", []string{"--namespace", "ops-eu", "--pod", "p", "--tty"}, 0, []string{
			"not applied: excluded by ops-maintenance", "result:     log",
		}},
		{"excluded by label, flags after the file", []string{"--label", "debug=true", "--label", "team:ops", "--tty"}, 0, []string{
			"labels debug=true,team=ops", "excluded by debug-pods", "result:     log",
		}},
		{"container start", []string{"--operation", "container-start", "--tty"}, 0, []string{
			"selectors:  all\n", "result:     log",
		}},
		{"bad time", []string{"--time", "yesterday"}, 2, nil},
		{"bad user", []string{"--user", "bob"}, 2, nil},
		{"bad label", []string{"--label", "nolabel"}, 2, nil},
		{"bad operation", []string{"--operation", "fork"}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"policy", "test", "testdata/namespaces.yaml"}, tt.args...)
			code, out, errOut := runCLI(t, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestTestStdin: --stdin describes a call without a terminal whose stdin
// is attached; the default policy alerts on a shell reading it.
func TestTestStdin(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
	}{
		{"shell with stdin attached", []string{"--stdin", "attached", "--command", "sh"}, 0, []string{
			"call:       exec sh with stdin attached (a shell reading it)", "selectors:  allProcesses, stdinShells\n", "result:     alert",
		}},
		{"kubectl cp's tar", []string{"--stdin", "attached", "--command", "tar xf - -C /tmp"}, 0, []string{
			"call:       exec tar xf - -C /tmp with stdin attached as", "selectors:  allProcesses\n", "result:     log",
		}},
		{"no stdin", []string{"--stdin", "none", "--command", "sh"}, 0, []string{"selectors:  allProcesses\n", "result:     log"}},
		{"terminal", []string{"--stdin", "terminal"}, 0, []string{"with a terminal", "selectors:  allProcesses, interactiveProcesses\n"}},
		{"bad stdin", []string{"--stdin", "pipe"}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"policy", "test", "../../detect/policy/default.yaml"}, tt.args...)
			code, out, errOut := runCLI(t, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestTestInvalidPolicy(t *testing.T) {
	code, out, _ := runCLI(t, "policy", "test", "testdata/invalid.yaml", "--tty")
	if code != 1 || !strings.Contains(out, "testdata/invalid.yaml:8:7") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// Events from the event log (NDJSON, alert lines skipped) and D4C-style
// label lists are tried one by one; flags override their fields.
func TestTestEvents(t *testing.T) {
	code, out, errOut := runCLI(t, "policy", "test", "testdata/namespaces.yaml", "--event", "testdata/events.ndjson", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var res []testJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(res) != 2 {
		t.Fatalf("got %d results, want 2 (the alert line is skipped)", len(res))
	}
	first, second := res[0], res[1]
	if first.Source != "testdata/events.ndjson:1" || first.Action != "block" || first.Call.Image != "docker.io/library/busybox:1.36" ||
		first.Call.Time != "2026-03-14T12:00:00Z" || !first.Call.Interactive {
		t.Errorf("first: %+v", first)
	}
	if second.Source != "testdata/events.ndjson:3" || second.Action != "log" || second.Call.Labels["debug"] != "true" ||
		*second.Call.UID != 1000 || second.Responses[1].ExcludedBy[0] != "debug-pods" {
		t.Errorf("second: %+v", second)
	}

	code, out, _ = runCLI(t, "policy", "test", "testdata/namespaces.yaml", "--event", "testdata/events.ndjson", "--namespace", "ops-1")
	if code != 0 || strings.Count(out, "excluded by ops-maintenance") != 2 {
		t.Errorf("flags did not override the events: exit %d\n%s", code, out)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "policy", "test", "testdata/namespaces.yaml", "--event", bad); code != 2 || !strings.Contains(errOut, "bad.json:1") {
		t.Errorf("bad event: exit %d\n%s", code, errOut)
	}
}

// A recorded exec whose arguments and pod name carry terminal escapes and a
// newline: policy test prints them escaped, one call line, nothing a
// terminal acts on.
func TestTestEventsEscaped(t *testing.T) {
	ev := `{"@timestamp":"2026-03-14T12:00:00Z","event":{"kind":"event","action":"exec"},` +
		`"process":{"name":"sh","args":["sh","-c","true","\u001b]0;PWNED\u0007\u001b[2J\u001b[HFAKE: all clear\u001b[8m","line1\nresult:     allow"],"interactive":true},` +
		`"container":{"id":"abc","name":"app\u009b31m"},"orchestrator":{"namespace":"ns\u001b[31mRED","resource":{"name":"web\u202e"}}}` + "\n"
	path := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(path, []byte(ev), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "policy", "test", "testdata/namespaces.yaml", "--event", path)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, bad := range []string{"\x1b", "\x07", "\u009b", "\u202e"} {
		if strings.Contains(out, bad) {
			t.Errorf("output carries %q raw:\n%s", bad, out)
		}
	}
	if n := strings.Count(out, "\nresult:"); n != 1 {
		t.Errorf("%d result lines, want 1 (a forged one got through):\n%s", n, out)
	}
	for _, want := range []string{`\x1b]0;PWNED\x07`, `line1\nresult:`, `ns\x1b[31mRED`, `web\u202e`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks the escaped %s:\n%s", want, out)
		}
	}
}

func TestDefault(t *testing.T) {
	code, out, _ := runCLI(t, "policy", "default")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	p, err := policyfile.Parse("stdout", []byte(out))
	if err != nil || p.Revision() != policy.Default().Revision() {
		t.Errorf("printed default policy: %v", err)
	}
}

// policy compile is the runtime wrapper's helper (policy.HelperParser).
func TestCompile(t *testing.T) {
	valid, err := os.ReadFile("testdata/namespaces.yaml")
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLIStdin(t, string(valid), "policy", "compile", "--name", "/etc/execguard/policy.yaml")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	s, err := policy.DecodeHelperAnswer([]byte(out))
	if err != nil || len(s.Selectors) != 4 {
		t.Fatalf("answer: %v", err)
	}
	invalid, err := os.ReadFile("testdata/invalid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLIStdin(t, string(invalid), "policy", "compile", "--name", "/etc/execguard/policy.yaml")
	var errs policy.Errors
	if code != 1 || json.Unmarshal([]byte(out), &errs) != nil || len(errs) != 2 || errs[0].File != "/etc/execguard/policy.yaml" {
		t.Fatalf("exit %d, answer %s", code, out)
	}
	if code, _, _ := runCLI(t, "policy", "compile"); code != 2 {
		t.Errorf("without --name: exit %d, want 2", code)
	}
}

// A runtime launches the pre-registered plugin without arguments and with
// NRI_PLUGIN_SOCKET; the plugin's own name runs the nri commands.
func TestCommandLine(t *testing.T) {
	tests := []struct {
		name   string
		argv   []string
		socket string
		want   []string
	}{
		{"launched by the runtime", []string{"/opt/nri/plugins/10-execguard"}, "3", []string{"nri", "run"}},
		{"no arguments, no socket", []string{"/usr/local/bin/execguard"}, "", []string{}},
		{"arguments win over the socket", []string{"execguard", "status"}, "3", []string{"status"}},
		{"plugin name: serve", []string{"/usr/local/bin/execguard-nri"}, "", []string{"nri", "run"}},
		{"plugin name with flags", []string{"execguard-nri", "--socket", "/s"}, "", []string{"nri", "run", "--socket", "/s"}},
		{"plugin name, status", []string{"execguard-nri", "status"}, "", []string{"nri", "status"}},
		{"plugin name, full command", []string{"execguard-nri", "nri", "run"}, "", []string{"nri", "run"}},
		{"plugin name, single-dash flags", []string{"execguard-nri", "run", "-config", "/c", "-socket=/s", "-h"}, "", []string{"nri", "run", "--config", "/c", "--socket=/s", "-h"}},
		{"CLI", []string{"execguard", "policy", "default"}, "", []string{"policy", "default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == nriSocketEnv {
					return tt.socket
				}
				return ""
			}
			if got := commandLine(tt.argv, getenv); !slices.Equal(got, tt.want) {
				t.Errorf("commandLine(%q) = %q, want %q", tt.argv, got, tt.want)
			}
		})
	}
}

// Every command answers --help, and usage mistakes exit 2 at every level.
func TestHelpAndUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--help"}, 0, "Available Commands:"},
		{[]string{"help", "policy"}, 0, "execguard policy [command]"},
		{[]string{"install", "--help"}, 0, "--dry-run"},
		{[]string{"uninstall", "--help"}, 0, "--force"},
		{[]string{"status", "--help"}, 0, "--json"},
		{[]string{"policy", "test", "--help"}, 0, "--label key=value"},
		{[]string{"nri", "run", "--help"}, 0, "--socket string"},
		{[]string{"nri", "status", "-h"}, 0, "--state-dir string"},
		{[]string{"version", "--help"}, 0, "print execguard's version"},
		{[]string{"completion", "bash"}, 0, "bash completion"},
		{[]string{"version"}, 0, "execguard "},
		{[]string{"--version"}, 0, "execguard "},
		{[]string{}, 2, "Available Commands:"},
		{[]string{"policy"}, 2, "Available Commands:"},
		{[]string{"nri"}, 2, "Available Commands:"},
		{[]string{"version", "extra"}, 2, ""},
		{[]string{"status", "--nope"}, 2, ""},
		{[]string{"polcy"}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.out) {
				t.Errorf("exit %d, want %d; stdout lacks %q?\n%s\nstderr:\n%s", code, tt.code, tt.out, out, errOut)
			}
		})
	}
	if _, _, errOut := runCLI(t, "polcy"); !strings.Contains(errOut, `did you mean "policy"?`) {
		t.Errorf("no suggestion for a typo:\n%s", errOut)
	}
}

// A command written against the flag package (runFunc) mounts in the tree
// with flagCommand: it gets its arguments untouched, -h included, and its
// exit status and usage errors come through.
func TestFlagCommand(t *testing.T) {
	greet := func(args []string, stdout, stderr io.Writer) (int, error) {
		fs := newFlagSet("greet", "greet NAME [--loud]", stderr)
		loud := fs.Bool("loud", false, "shout")
		names, err := parseInterleaved(fs, args)
		if err != nil {
			return flagResult(err)
		}
		if len(names) != 1 {
			return exitUsage, usagef("greet: name one person")
		}
		if names[0] == "nobody" {
			return exitPolicy, nil
		}
		msg := "hello " + names[0]
		if *loud {
			msg = strings.ToUpper(msg)
		}
		fmt.Fprintln(stdout, msg)
		return exitOK, nil
	}
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"greet", "ann", "-loud"}, 0, "HELLO ANN\n", ""},
		{[]string{"greet", "--loud", "bob"}, 0, "HELLO BOB\n", ""},
		{[]string{"greet", "nobody"}, 1, "", ""},
		{[]string{"greet"}, 2, "", "name one person"},
		{[]string{"greet", "-nope", "x"}, 2, "", "flag provided but not defined: -nope"},
		{[]string{"greet", "-h"}, 0, "", "usage: execguard greet NAME [--loud]"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
			root := a.rootCommand()
			root.AddCommand(a.flagCommand("greet", "greet someone", greet))
			code := a.execute(root, tt.args)
			if code != tt.code || out.String() != tt.stdout || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("exit %d (want %d), stdout %q (want %q), stderr %q (want %q in it)", code, tt.code, out.String(), tt.stdout, errb.String(), tt.stderr)
			}
		})
	}
}
