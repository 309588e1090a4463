package core

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/policy"
	"github.com/execguard/execguard/detect/rules"
	"github.com/execguard/execguard/state"
)

// Sources load what a decision reads besides the facts: the policy file and
// the detection rules. The wrapper reads them anew for every call; the shim
// keeps them and reloads them when their files change.
type Sources interface {
	// Policy is the policy of cfg.PolicyFile: the file's, or the last good
	// one together with the reason the file is not used; nil and the
	// error when there is none.
	Policy(cfg config.Config) (*policy.Policy, error)
	// Rules are the detection rules in force (the built-in ones and those
	// of rules_dir), with the problems met loading them.
	Rules(cfg config.Config) (*rules.Set, []string)
	// Redactor is cfg's redactor (see config.Config.Redactor).
	Redactor(cfg config.Config) (*detect.Redactor, error)
	// Host identifies the node.
	Host() detect.Host
}

// FileSources read the policy and the rules from their files for every
// decision. Parse reads a policy file that changed since it was last read
// (policy.LoadOrLastGood keeps the last good one under the state directory).
type FileSources struct {
	Parse policy.Parser
}

// Policy loads cfg.PolicyFile, refusing one others than root could have
// written (see config.CheckTrusted).
func (s FileSources) Policy(cfg config.Config) (*policy.Policy, error) {
	if err := trustedPolicy(cfg.PolicyFile); err != nil {
		// Refused like an unreadable file: the last good policy stays in
		// force, or else the fail mode decides.
		return policy.LastGood(cfg.PolicyFile, cfg.StateDir, err)
	}
	return policy.LoadOrLastGood(cfg.PolicyFile, cfg.StateDir, s.Parse)
}

// Rules loads the built-in rules and those of cfg.RulesDir.
func (FileSources) Rules(cfg config.Config) (*rules.Set, []string) {
	return LoadRules(cfg)
}

// Redactor compiles cfg's redaction patterns.
func (FileSources) Redactor(cfg config.Config) (*detect.Redactor, error) { return cfg.Redactor() }

// Host reads the node's name and machine id.
func (FileSources) Host() detect.Host { return state.LocalHost() }

// LoadRules reads the built-in rules and those of cfg.RulesDir; rule files
// left out, and why, are in the problems.
func LoadRules(cfg config.Config) (*rules.Set, []string) {
	var problems []string
	set, err := rules.Default()
	if err != nil {
		problems = append(problems, "built-in rules: "+err.Error())
	}
	switch {
	case cfg.RulesDir == "":
	case !filepath.IsAbs(cfg.RulesDir):
		problems = append(problems, fmt.Sprintf("rules_dir %q: want an absolute path; its rules are not evaluated", cfg.RulesDir))
	default:
		dir, err := rules.LoadDirTrusted(cfg.RulesDir, config.CheckTrusted)
		if err != nil {
			problems = append(problems, "rules: "+err.Error())
		}
		set.Merge(dir)
	}
	return set, problems
}

// trustedPolicy refuses a policy file that others than root could have
// written (see config.CheckTrusted).
func trustedPolicy(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil // LoadOrLastGood reports it
	}
	return config.CheckTrusted(path, fi)
}

// Evaluate applies the configured policy to the facts. legacy carries the
// fail mode and the interactive_action shorthand; problems met on the way
// are added to the facts.
//
//   - policy = FILE: the file's policy, or, when it is invalid, the last good
//     one (with the error recorded); when there never was a good one, the
//     fail mode decides.
//   - no policy file: the built-in default policy (log everything, alert on
//     interactive entry leaders), unless interactive_action is log or block,
//     the single-action shorthand that predates policies.
//
// The detection rules are evaluated first: the policy's detectionRule
// conditions read which matched, and each matching rule other than the seed
// rule adds its alert (rules.Outcome).
func Evaluate(f *detect.Facts, cfg config.Config, legacy *detect.Policy, src Sources) detect.Decision {
	matched := MatchRules(f, cfg, *legacy, src)
	d := decidePolicy(f, cfg, legacy, rules.IDsAndNames(matched), src)
	d.MatchedRules, d.Rules = rules.Outcome(matched)
	d.Decided = rules.Decided(matched)
	return d
}

func decidePolicy(f *detect.Facts, cfg config.Config, legacy *detect.Policy, matchedRules []string, src Sources) detect.Decision {
	// An exec whose process spec could not be read cannot be matched: in
	// fail-closed mode it is refused whatever the policy says.
	if !f.Process.Known && f.Operation == detect.OpExec && legacy.FailMode == detect.FailClosed {
		return detect.Decide(*f, *legacy)
	}
	var p *policy.Policy
	switch {
	case cfg.PolicyFile != "":
		var err error
		p, err = src.Policy(cfg)
		if err != nil {
			f.AddProblem("policy: %v", err)
			if p == nil {
				legacy.Err = "policy " + cfg.PolicyFile + ": " + err.Error()
				return detect.Decide(*f, *legacy)
			}
			legacy.Err = "policy " + cfg.PolicyFile + ": last good policy in force: " + err.Error()
		}
	case legacy.Err != "" && legacy.FailMode == detect.FailClosed:
		// The configuration was refused or is invalid: in fail mode closed
		// its defaults do not get to allow an interactive exec.
		return detect.Decide(*f, *legacy)
	case cfg.InteractiveAction == detect.ActionAlert:
		p = policy.Default()
	default:
		return detect.Decide(*f, *legacy)
	}
	return policy.Decision(*f, p.EvaluateWithRules(*f, time.Now(), matchedRules), p.Revision())
}

// MatchRules evaluates the detection rules in force on the event the call
// would record, before any decision. Only execs and container starts are
// evaluated, so calls that pass through never read the rules. Problems with
// rule files are added to the facts: the event says which files were left
// out and why.
func MatchRules(f *detect.Facts, cfg config.Config, p detect.Policy, src Sources) (matched []*rules.Rule) {
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
	set, problems := src.Rules(cfg)
	for _, pr := range problems {
		f.AddProblem("%s", pr)
	}
	if set == nil || len(set.Rules) == 0 {
		return nil
	}
	host := src.Host()
	return set.MatchEvent(detect.Record{Facts: *f, Policy: p, Host: host, Time: time.Now()})
}
