package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/execguard/execguard/detect/rules"
)

// rulesCommand is "execguard rules": EQL detection rules (docs/rules.md).
func (a *app) rulesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "try EQL detection rules on recorded events",
		Long: `Detection rules are Elastic detection-rules TOML files whose EQL
"process where" queries the wrapper evaluates on each exec and container
start, before the process starts. See docs/rules.md.`,
		Args: cobra.ArbitraryArgs,
		RunE: a.group,
	}
	var builtin bool
	test := &cobra.Command{
		Use:   "test DIR EVENTS.ndjson",
		Short: "which rules of DIR match which events of an event log",
		Args:  exactArgs(2, "a rules directory and an NDJSON events file"),
		RunE: a.action(func(_ *cobra.Command, args []string) (int, error) {
			return testRules(args[0], args[1], builtin, a.stdout)
		}),
	}
	test.Flags().BoolVar(&builtin, "builtin", false, "also run the built-in rules (the seed rule, 2023 and 2026 forms)")
	cmd.AddCommand(test)
	return cmd
}

// testRules reports which rules of dir (and the built-in ones) match which
// events of the file at events.
func testRules(rulesDir, events string, builtin bool, stdout io.Writer) (int, error) {
	pos := []string{rulesDir, events}
	set := &rules.Set{}
	if builtin {
		def, err := rules.Default()
		if err != nil {
			return exitPolicy, err
		}
		set.Merge(def)
	}
	dir, loadErr := rules.LoadDir(pos[0])
	set.Merge(dir)
	if len(set.Rules) == 1 {
		fmt.Fprint(stdout, "1 rule runs")
	} else {
		fmt.Fprintf(stdout, "%d rules run", len(set.Rules))
	}
	if len(set.Skipped) > 0 {
		fmt.Fprintf(stdout, ", %d not applicable", len(set.Skipped))
	}
	fmt.Fprintln(stdout)
	for _, s := range set.Skipped {
		fmt.Fprintf(stdout, "not applicable: %s (%s, %s): %s\n", s.File, s.Name, s.ID, s.Reason)
	}
	code := exitOK
	if loadErr != nil {
		code = exitPolicy
		for _, line := range strings.Split(loadErr.Error(), "\n") {
			fmt.Fprintf(stdout, "error: %s\n", line)
		}
	}
	f, err := os.Open(pos[1])
	if err != nil {
		return exitPolicy, fmt.Errorf("rules test: %w", err)
	}
	defer f.Close()
	results, err := set.TestEvents(f)
	matched := 0
	for _, r := range results {
		if len(r.Matched) == 0 {
			continue
		}
		matched++
		var names []string
		for _, m := range r.Matched {
			how := "alert"
			switch {
			case m.Seed():
				how = "seed rule: alert per policy"
			case m.PolicyDecided():
				how = "alert per policy"
			case !contains(r.Alerts, m.ID):
				how = "same rule id as above"
			}
			names = append(names, fmt.Sprintf("%s [%s] (%s)", m.Name, m.ID, how))
			r.Alerts = remove(r.Alerts, m.ID)
		}
		fmt.Fprintf(stdout, "line %d: %s: %s\n", r.Line, r.Summary, strings.Join(names, "; "))
	}
	fmt.Fprintf(stdout, "%d of %d events matched\n", matched, len(results))
	if err != nil {
		return exitPolicy, fmt.Errorf("rules test %s: %w", pos[1], err)
	}
	if code != exitOK {
		return code, errors.New("rules test: some rule files are invalid")
	}
	return code, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func remove(list []string, s string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
