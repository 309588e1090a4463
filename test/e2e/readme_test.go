//go:build e2e

package e2e

// The README is run, so that it cannot drift from the code. Every fenced
// block with a language is either checked or marked, on the line just above
// it, with why it is not:
//
//	<!-- readme-test: skip REASON -->           not run here (reported as skipped, with REASON)
//	<!-- readme-test: same-file PATH -->        the block is the content of PATH
//	<!-- readme-test: same-json PATH:LINE -->   the block is that line of PATH, as JSON
//	<!-- readme-test: config-defaults -->       the block is the configuration's defaults
//	<!-- readme-test: output-contains -->       console: each output line shown is in the output
//
// Unmarked, an sh block runs with bash (-e -o pipefail) from the
// repository's root and must succeed; a console block runs each "$ " line
// and compares its standard output with the lines shown below it; a yaml
// block that is a policy must pass execguard policy check. The execguard
// command is built first and found on PATH.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/execguard/execguard/config"
)

// readmeBlock is one fenced block of the README.
type readmeBlock struct {
	line      int    // of the opening fence
	lang      string // after the fence: sh, console, yaml, ...
	directive string // the readme-test marker above it, without the comment
	text      string
}

func parseReadme(t *testing.T, data string) []readmeBlock {
	t.Helper()
	var blocks []readmeBlock
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		lang, ok := strings.CutPrefix(lines[i], "```")
		if !ok {
			continue
		}
		b := readmeBlock{line: i + 1, lang: strings.TrimSpace(lang)}
		if i > 0 {
			if d, ok := strings.CutPrefix(strings.TrimSpace(lines[i-1]), "<!-- readme-test:"); ok {
				b.directive = strings.TrimSpace(strings.TrimSuffix(d, "-->"))
			}
		}
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("README.md:%d: fence never closed", b.line)
		}
		b.text = strings.Join(body, "\n") + "\n"
		blocks = append(blocks, b)
	}
	return blocks
}

func TestReadme(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := parseReadme(t, string(data))
	bin := filepath.Join(t.TempDir(), "bin")
	buildCommand(t, "./cmd/execguard", filepath.Join(bin, "execguard"))
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "NO_COLOR=1")

	shell := func(t *testing.T, script string) (stdout, stderr string, err error) {
		t.Helper()
		cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
		cmd.Dir, cmd.Env = root, env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err = cmd.Run()
		return out.String(), errb.String(), err
	}

	checked := 0
	for _, b := range blocks {
		if b.lang == "" {
			continue // a diagram, sample output, a query: prose
		}
		t.Run(fmt.Sprintf("line %d %s", b.line, b.lang), func(t *testing.T) {
			verb, arg, _ := strings.Cut(b.directive, " ")
			switch {
			case verb == "skip":
				if arg == "" {
					t.Fatal("skip without a reason")
				}
				t.Skip(arg)
			case verb == "same-file":
				want, err := os.ReadFile(filepath.Join(root, arg))
				if err != nil {
					t.Fatal(err)
				}
				if b.text != string(want) {
					t.Errorf("the block is not %s as it is now", arg)
				}
			case verb == "same-json":
				checkSameJSON(t, root, arg, b.text)
			case verb == "config-defaults":
				got, err := config.Parse("README.md", []byte(b.text))
				if err != nil {
					t.Fatal(err)
				}
				if want := config.Default(); !reflect.DeepEqual(got, want) {
					t.Errorf("the block's settings are not the defaults:\n got %+v\nwant %+v", got, want)
				}
			case b.lang == "sh" && verb == "":
				if out, errOut, err := shell(t, b.text); err != nil {
					t.Errorf("%v\n%s\nstdout:\n%s\nstderr:\n%s", err, b.text, tail(out, 20), tail(errOut, 20))
				}
			case b.lang == "console" && (verb == "" || verb == "output-contains"):
				for _, c := range consoleCommands(b.text) {
					out, errOut, err := shell(t, c.command)
					if err != nil {
						t.Errorf("$ %s: %v\n%s", c.command, err, errOut)
						continue
					}
					if verb == "output-contains" {
						for _, line := range strings.Split(strings.TrimSpace(c.output), "\n") {
							if !strings.Contains(out, line) {
								t.Errorf("$ %s: output lacks %q:\n%s", c.command, line, out)
							}
						}
					} else if out != c.output {
						t.Errorf("$ %s: output differs from the README's\n got:\n%s\nwant:\n%s", c.command, out, c.output)
					}
				}
			case b.lang == "yaml" && verb == "" && isPolicy(b.text):
				file := filepath.Join(t.TempDir(), "policy.yaml")
				if err := os.WriteFile(file, []byte(b.text), 0o644); err != nil {
					t.Fatal(err)
				}
				if out, errOut, err := shell(t, "execguard policy check "+file); err != nil {
					t.Errorf("%v\n%s%s", err, out, errOut)
				}
			default:
				t.Fatalf("a %s block the test cannot check: mark it (<!-- readme-test: skip REASON -->, same-file, ...)", b.lang)
			}
		})
		checked++
	}
	if checked < 10 {
		t.Errorf("only %d blocks found in README.md: is the parser still right?", checked)
	}
}

// consoleCommand is one "$ " line of a console block and the output shown
// below it.
type consoleCommand struct{ command, output string }

func consoleCommands(text string) []consoleCommand {
	var cmds []consoleCommand
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if c, ok := strings.CutPrefix(line, "$ "); ok {
			cmds = append(cmds, consoleCommand{command: c})
			continue
		}
		if len(cmds) > 0 {
			cmds[len(cmds)-1].output += line + "\n"
		}
	}
	return cmds
}

// checkSameJSON compares the block with line LINE of a file, as JSON values.
func checkSameJSON(t *testing.T, root, ref, text string) {
	t.Helper()
	file, n, ok := strings.Cut(ref, ":")
	line, err := strconv.Atoi(n)
	if !ok || err != nil || line < 1 {
		t.Fatalf("same-json %q: want PATH:LINE", ref)
	}
	data, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if line > len(lines) {
		t.Fatalf("%s has no line %d", file, line)
	}
	var want, got any
	if err := json.Unmarshal([]byte(lines[line-1]), &want); err != nil {
		t.Fatalf("%s:%d: %v", file, line, err)
	}
	if err := json.Unmarshal([]byte(text), &got); err != nil {
		t.Fatalf("the block is not JSON: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the block is not %s:%d", file, line)
	}
}

// isPolicy reports a YAML block whose first key is process:.
func isPolicy(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return strings.HasPrefix(line, "process:")
		}
	}
	return false
}

// TestReadmeAnchors checks that every link to a section of the README
// names a heading that exists (GitHub's anchors: lower case, punctuation
// dropped, spaces as hyphens).
func TestReadmeAnchors(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	inFence := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
		}
		if heading, ok := strings.CutPrefix(line, "#"); ok && !inFence {
			anchors[githubAnchor(strings.TrimLeft(heading, "# "))] = true
		}
	}
	links := 0
	for rest := string(data); ; {
		i := strings.Index(rest, "](#")
		if i < 0 {
			break
		}
		rest = rest[i+3:]
		anchor, _, _ := strings.Cut(rest, ")")
		links++
		if !anchors[anchor] {
			t.Errorf("link to #%s: no such heading", anchor)
		}
	}
	if links == 0 {
		t.Error("no section links found: is the README's contents line gone?")
	}
}

func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
