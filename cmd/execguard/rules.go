package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/execguard/execguard/detect/rules"
)

const rulesUsage = `usage: execguard rules test [--builtin] DIR EVENTS.ndjson
`

// runRules is "execguard rules": which detection rules of a directory match
// which events of an event log.
func runRules(args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		return exitUsage, usagef("rules: which command? test")
	}
	switch {
	case args[0] == "test":
		return runRulesTest(args[1:], stdout, stderr)
	case isHelp(args[0]):
		fmt.Fprint(stdout, rulesUsage)
		return exitOK, nil
	}
	return exitUsage, usagef("rules: unknown command %q", args[0])
}

func runRulesTest(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("rules test", "rules test [--builtin] DIR EVENTS.ndjson", stderr)
	builtin := fs.Bool("builtin", false, "also run the built-in rules (the seed rule, 2023 and 2026 forms)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return flagResult(err)
	}
	if len(pos) != 2 {
		return exitUsage, usagef("rules test: give a rules directory and an NDJSON events file")
	}
	set := &rules.Set{}
	if *builtin {
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
