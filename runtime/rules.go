package runtime

import (
	"path/filepath"
	"time"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/rules"
	"github.com/execguard/execguard/state"
)

// matchRules evaluates the detection rules in force (the built-in ones and
// those of rules_dir) on the event the call would record, before any
// decision. Only execs and container starts are evaluated, so calls that
// pass through never read the rules. Problems with rule files are added to
// the facts: the event says which files were left out and why.
func matchRules(f *detect.Facts, cfg config.Config, p detect.Policy) (matched []*rules.Rule) {
	if f.Operation != detect.OpExec && f.Operation != detect.OpContainerStart {
		return nil
	}
	// A fault in a rule must cost its alert, never the call or its event.
	defer func() {
		if r := recover(); r != nil {
			f.AddProblem("rules: evaluation failed: %v", r)
			matched = nil
		}
	}()
	set, err := rules.Default()
	if err != nil {
		f.AddProblem("built-in rules: %v", err)
	}
	switch {
	case cfg.RulesDir == "":
	case !filepath.IsAbs(cfg.RulesDir):
		f.AddProblem("rules_dir %q: want an absolute path; its rules are not evaluated", cfg.RulesDir)
	default:
		dir, err := rules.LoadDirTrusted(cfg.RulesDir, config.CheckTrusted)
		if err != nil {
			f.AddProblem("rules: %v", err)
		}
		set.Merge(dir)
	}
	if len(set.Rules) == 0 {
		return nil
	}
	doc, err := detect.EventDocument(detect.Record{Facts: *f, Policy: p, Host: state.LocalHost(), Time: time.Now()})
	if err != nil {
		f.AddProblem("rules: event document: %v", err)
		return nil
	}
	return set.Match(doc)
}
