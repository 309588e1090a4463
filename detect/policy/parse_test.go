package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wantErr is one expected problem: its position, key and a part of its
// message and hint.
type wantErr struct {
	line, col int
	key       string
	msg       string
	hint      string
}

func checkErrors(t *testing.T, err error, want []wantErr) {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v (%T), want policy.Errors", err, err)
	}
	if len(es) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(es), len(want), err)
	}
	for i := range min(len(es), len(want)) {
		g, w := es[i], want[i]
		if g.File != "test.yaml" || g.Line != w.line || g.Column != w.col || g.Key != w.key ||
			!strings.Contains(g.Msg, w.msg) || !strings.Contains(g.Hint, w.hint) {
			t.Errorf("error %d:\ngot  %s:%d:%d key %q msg %q hint %q\nwant test.yaml:%d:%d key %q msg ~%q hint ~%q",
				i, g.File, g.Line, g.Column, g.Key, g.Msg, g.Hint, w.line, w.col, w.key, w.msg, w.hint)
		}
	}
}

const okResponses = "  responses:\n    - match: [s]\n      actions: [alert]\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		{"empty file", "", []wantErr{{0, 0, "", "the file is empty", "process:"}}},
		{"only a comment", "# nothing\n", []wantErr{{0, 0, "", "the file is empty", ""}}},
		{"not a mapping", "- a\n- b\n", []wantErr{{1, 1, "", "want a mapping, got a list", ""}}},
		{"malformed YAML", "process:\n  selectors: [\n", []wantErr{{2, 3, "", "invalid YAML", "indentation"}}},
		{"tab indentation", "process:\n\tselectors: []\n", []wantErr{{2, 1, "", "invalid YAML", "tabs"}}},
		{"two documents", selectorPolicy("processName: [sh]") + "---\nprocess: {}\n", []wantErr{{8, 1, "", "more than one YAML document", "---"}}},
		{"unknown stdin", selectorPolicy("stdin: [attachd]"), []wantErr{{4, 15, "process.selectors[0].stdin", `unknown stdin "attachd"`, "did you mean attached?"}}},
		{"stdinShell not a boolean", selectorPolicy("stdinShell: [yes]"), []wantErr{{4, 19, "process.selectors[0].stdinShell", "want a single value, got a list", ""}}},
		{"unknown top-level key", "proces:\n  selectors: []\n", []wantErr{{1, 1, "proces", "unknown key", "did you mean process?"}}},
		{"no process section", "file:\n  selectors: []\n", []wantErr{{1, 1, "process", "no process section", ""}}},
		{"process not a mapping", "process: [a]\n", []wantErr{{1, 10, "process", "want a mapping, got a list", ""}}},
		{"missing responses", "process:\n  selectors:\n    - name: s\n      processName: [sh]\n", []wantErr{{2, 3, "process.responses", "missing", ""}}},
		{"empty selectors", "process:\n  selectors: []\n" + okResponses, []wantErr{
			{2, 14, "process.selectors", "no selectors", ""},
			{4, 15, "process.responses[0].match", `unknown selector "s"`, ""},
		}},
		{"selectors not a list", "process:\n  selectors: {name: s}\n" + okResponses, []wantErr{
			{2, 14, "process.selectors", "want a list, got a mapping", "- name:"},
			{4, 15, "process.responses[0].match", `unknown selector "s"`, ""},
		}},
		{"unknown condition", selectorPolicy("procesName: [sh]"), []wantErr{
			{4, 7, "process.selectors[0].procesName", "unknown selector condition", "did you mean processName?"},
		}},
		{"D4C file condition in a process selector", selectorPolicy("targetFilePath: [/usr/bin/*]"), []wantErr{
			{4, 7, "process.selectors[0].targetFilePath", "unknown selector condition", "file selector condition"},
		}},
		{"empty selector", selectorPolicy(""), []wantErr{{3, 7, "process.selectors[0]", `selector "s" has no condition`, "operation: [exec]"}}},
		{"selector without name", "process:\n  selectors:\n    - processName: [sh]\n" + okResponses, []wantErr{
			{3, 7, "process.selectors[0].name", "missing", ""},
			{5, 15, "process.responses[0].match", `unknown selector "s"`, ""},
		}},
		{"bad selector name", "process:\n  selectors:\n    - name: -s\n      processName: [sh]\n  responses:\n    - match: [-s]\n      actions: [log]\n", []wantErr{
			{3, 7, "process.selectors[0].name", `invalid selector name "-s"`, "letters, digits"},
			{6, 15, "process.responses[0].match", `unknown selector "-s"`, ""},
		}},
		{"duplicate selector", "process:\n  selectors:\n    - name: s\n      processName: [sh]\n    - name: s\n      processName: [bash]\n" + okResponses, []wantErr{
			{5, 7, "process.selectors[1].name", `selector "s" is defined twice`, "process.selectors[0]"},
		}},
		{"duplicate key", selectorPolicy("processName: [sh]\nprocessName: [bash]"), []wantErr{{5, 7, "process.selectors[0].processName", "duplicate key", "merge"}}},
		{"string for a list", selectorPolicy("kubernetesNamespace: prod"), []wantErr{{4, 28, "process.selectors[0].kubernetesNamespace", "want a list, got the string \"prod\"", "[prod]"}}},
		{"empty list", selectorPolicy("kubernetesNamespace: []"), []wantErr{{4, 28, "process.selectors[0].kubernetesNamespace", "empty list", ""}}},
		{"boolean in a list", selectorPolicy("processName: [true]"), []wantErr{{4, 21, "process.selectors[0].processName", "want a string, got a boolean", "quote"}}},
		{"null in a list", selectorPolicy("processName: [~]"), []wantErr{{4, 21, "process.selectors[0].processName", "want a string, got nothing (null)", ""}}},
		{"mapping in a list", selectorPolicy("processName: [{a: b}]"), []wantErr{{4, 21, "process.selectors[0].processName", "want a single value, got a mapping", ""}}},
		{"quoted boolean", selectorPolicy(`sessionLeaderInteractive: "true"`), []wantErr{{4, 33, "process.selectors[0].sessionLeaderInteractive", "want true or false", "without quotes"}}},
		{"yes is no boolean", selectorPolicy(`sessionLeaderInteractive: yes`), []wantErr{{4, 33, "process.selectors[0].sessionLeaderInteractive", "want true or false", ""}}},
		{"unknown operation", selectorPolicy("operation: [exce]"), []wantErr{{4, 19, "process.selectors[0].operation", `unknown operation "exce"`, "did you mean exec?"}}},
		{"bad trailing pattern", selectorPolicy("kubernetesPodName: ['*-web']"), []wantErr{{4, 27, "process.selectors[0].kubernetesPodName", "only a trailing *", ""}}},
		{"pattern too long", selectorPolicy("processExecutable: [/" + strings.Repeat("a", 600) + "]"), []wantErr{{4, 27, "process.selectors[0].processExecutable", "longer than 511 bytes", ""}}},
		{"label with =", selectorPolicy(`kubernetesPodLabel: ["app=web"]`), []wantErr{{4, 28, "process.selectors[0].kubernetesPodLabel", "uses =", "key:value"}}},
		{"label with curly quotes", selectorPolicy(`kubernetesPodLabel: [‘production:*’]`), []wantErr{{4, 28, "process.selectors[0].kubernetesPodLabel", "has the character", ""}}},
		{"label wildcard key", selectorPolicy(`kubernetesPodLabel: ["app*:web"]`), []wantErr{{4, 28, "process.selectors[0].kubernetesPodLabel", "wildcard in its key", "value only"}}},
		{"image name with a path", selectorPolicy(`containerImageName: [library/nginx]`), []wantErr{{4, 28, "process.selectors[0].containerImageName", "contains a /", "containerImageFullName"}}},
		{"full image name with a tag", selectorPolicy(`containerImageFullName: [docker.io/nginx:1]`), []wantErr{{4, 32, "process.selectors[0].containerImageFullName", "tag or digest", "containerImageTag"}}},
		{"user name", selectorPolicy("processUserName: [www-data]"), []wantErr{{4, 25, "process.selectors[0].processUserName", `user name "www-data" cannot be resolved`, "processUserId"}}},
		{"user id", selectorPolicy("processUserId: [-1, 4294967296]"), []wantErr{
			{4, 23, "process.selectors[0].processUserId", "not a numeric user id", ""},
			{4, 27, "process.selectors[0].processUserId", "not a numeric user id", ""},
		}},
		{"args quote", selectorPolicy(`processArgs: ["sh -c 'x"]`), []wantErr{{4, 21, "process.selectors[0].processArgs", "unterminated single quote", ""}}},
		{"window without days or hours", selectorPolicy(`maintenanceWindow: {timezone: UTC}`), []wantErr{{4, 26, "process.selectors[0].maintenanceWindow", "needs days, hours or both", ""}}},
		{"window bad hours", selectorPolicy(`maintenanceWindow: {hours: "2-4"}`), []wantErr{{4, 34, "process.selectors[0].maintenanceWindow.hours", "is not HH:MM", "HH:MM-HH:MM"}}},
		{"window empty hours", selectorPolicy(`maintenanceWindow: {hours: "02:00-02:00"}`), []wantErr{{4, 34, "process.selectors[0].maintenanceWindow.hours", "empty", ""}}},
		{"window unknown zone", selectorPolicy(`maintenanceWindow: {days: [sun], timezone: Mars/Olympus}`), []wantErr{{4, 50, "process.selectors[0].maintenanceWindow.timezone", `unknown time zone "Mars/Olympus"`, "IANA"}}},
		{"window Local zone", selectorPolicy(`maintenanceWindow: {days: [sun], timezone: Local}`), []wantErr{{4, 50, "process.selectors[0].maintenanceWindow.timezone", "depends on the node", ""}}},
		{"window unknown key", selectorPolicy(`maintenanceWindow: {day: [sun]}`), []wantErr{
			{4, 27, "process.selectors[0].maintenanceWindow.day", "unknown key", "did you mean days?"},
		}},
		{"unknown selector in match", selectorPolicy("processName: [sh]") + "    - match: [S]\n      actions: [log]\n", []wantErr{{8, 15, "process.responses[1].match", `unknown selector "S"`, "did you mean s?"}}},
		{"unknown selector in exclude", selectorPolicy("processName: [sh]") + "    - match: [s]\n      exclude: [nope]\n      actions: [log]\n", []wantErr{{9, 17, "process.responses[1].exclude", `unknown selector "nope"`, "selectors defined: s"}}},
		{"block without alert", "process:\n  selectors:\n    - name: s\n      processName: [sh]\n  responses:\n    - match: [s]\n      actions: [block]\n", []wantErr{{7, 7, "process.responses[0].actions", "block without alert", "[alert, block]"}}},
		{"unknown action", "process:\n  selectors:\n    - name: s\n      processName: [sh]\n  responses:\n    - match: [s]\n      actions: [deny]\n", []wantErr{{7, 17, "process.responses[0].actions", `unknown action "deny"`, "log, alert, block and record"}}},
		{"response without match and actions", "process:\n  selectors:\n    - name: s\n      processName: [sh]\n  responses:\n    - exclude: [s]\n", []wantErr{
			{6, 7, "process.responses[0].match", "missing", ""},
			{6, 7, "process.responses[0].actions", "missing", ""},
		}},
		{"alias", "process:\n  selectors:\n    - name: s\n      processName: &n [sh]\n    - name: t\n      processName: *n\n  responses:\n    - match: [s, t]\n      actions: [log]\n", []wantErr{
			{6, 20, "process.selectors[1].processName", "anchors and aliases are not supported", "in full"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseYAML("test.yaml", []byte(tt.src))
			if p != nil {
				t.Errorf("got a policy from an invalid file")
			}
			checkErrors(t, err, tt.want)
		})
	}
}

// TestParseReportsEveryError checks that one run reports problems of every
// kind, in file order, with positions.
func TestParseReportsEveryError(t *testing.T) {
	src := `process:
  selectors:
    - name: interactive
      operation: [exec, forkk]
      sessionLeaderInteractive: "true"
    - name: ops
      kubernetesPodLabel: [team=ops]
    - name: empty
    - name: interactive
      procesName: [sh]
  responses:
    - match: [interactiv]
      actions: [block]
`
	_, err := parseYAML("test.yaml", []byte(src))
	checkErrors(t, err, []wantErr{
		{4, 25, "process.selectors[0].operation", "unknown operation", ""},
		{5, 33, "process.selectors[0].sessionLeaderInteractive", "want true or false", ""},
		{7, 28, "process.selectors[1].kubernetesPodLabel", "uses =", ""},
		{8, 7, "process.selectors[2]", "no condition", ""},
		{9, 7, "process.selectors[3].name", "defined twice", ""},
		{10, 7, "process.selectors[3].procesName", "unknown selector condition", ""},
		{12, 15, "process.responses[0].match", "unknown selector", "did you mean interactive?"},
		{13, 7, "process.responses[0].actions", "block without alert", ""},
	})
	if got := err.Error(); !strings.Contains(got, "test.yaml:13:7: process.responses[0].actions: block without alert (hint: ") {
		t.Errorf("rendering:\n%s", got)
	}
}

func TestNotes(t *testing.T) {
	p := mustParse(t, `process:
  selectors:
    - name: forks
      operation: [fork]
    - name: unused
      processName: [sh]
    - name: s
      processName: [sh]
  responses:
    - match: [forks]
      actions: [log]
    - match: [s]
      exclude: [s]
      actions: [alert]
file:
  selectors: []
`)
	var got []string
	for _, n := range p.Notes() {
		got = append(got, fmt.Sprintf("%d:%d %s", n.Line, n.Column, n.Msg))
	}
	want := []string{
		`4:7 selector "forks" matches fork only, which execguard never sees: it never matches`,
		`5:7 selector "unused" is not used by any response`,
		`12:7 selector "s" is both matched and excluded: this response never applies through it`,
		`15:1 file selectors and responses are not enforced by execguard and are ignored`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("notes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestNotesAuthorChosen: exemptions keyed on what a pod's author chooses
// are warned about; one narrowed by namespace is not.
func TestNotesAuthorChosen(t *testing.T) {
	p := mustParse(t, `process:
  selectors:
    - name: shells
      stdinShell: true
    - name: debugPods
      kubernetesPodLabel: ["debug:true"]
    - name: debuggers
      containerName: [debugger-*]
    - name: opsDebuggers
      kubernetesNamespace: [ops]
      containerName: [debugger-*]
    - name: trusted
      containerImageName: [toolbox]
  responses:
    - match: [shells]
      exclude: [debugPods, debuggers, opsDebuggers]
      actions: [alert, block]
    - match: [trusted]
      actions: [log]
    - match: [shells]
      exclude: [debuggers]
      actions: [record]
`)
	var got []string
	for _, n := range p.Notes() {
		got = append(got, fmt.Sprintf("%d:%d %s", n.Line, n.Column, n.Msg))
	}
	want := []string{
		`16:17 selector "debugPods" exempts by kubernetesPodLabel, which a pod's author chooses: anyone who can create a pod can give it this exemption`,
		`16:28 selector "debuggers" exempts by containerName, which a pod's author chooses: anyone who can create a pod can give it this exemption`,
		`18:15 selector "trusted", keyed on containerImageName, only logs: this exempts nothing from other responses (actions add up), and an exemption keyed on it would be one a pod's author can give themselves`,
		`21:17 selector "debuggers" exempts by containerName, which a pod's author chooses: anyone who can create a pod can give it this exemption`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("notes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.yaml")
	if err := os.WriteFile(huge, []byte("# "+strings.Repeat("x", MaxFileSize)), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing.yaml"), "missing.yaml: cannot read: no such file or directory"},
		{dir, "cannot read: is a directory"},
		{huge, "huge.yaml: larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		p, err := loadYAML(tt.path)
		if p != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("loadYAML(%s) = %v, %v; want error containing %q", tt.path, p, err, tt.want)
		}
	}
	if _, err := parseYAML("big.yaml", make([]byte, MaxFileSize+1)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Parse of a huge file: %v", err)
	}
}
