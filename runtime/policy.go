package runtime

import (
	"os"
	"path/filepath"
	"time"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/policy"
	"github.com/execguard/execguard/detect/rules"
)

// decideCall applies the configured policy to the facts. legacy carries the
// fail mode and the interactive_action shorthand; problems met on the way
// are added to the facts.
//
//   - policy = FILE: the file's policy, or, when it is invalid, the last good
//     one (with the error recorded); when there never was a good one, the
//     fail mode decides.
//   - no policy file: the built-in default policy (log everything, alert on
//     interactive entry leaders and attached-stdin shells), unless
//     interactive_action is log or block, the single-action shorthand that
//     predates policies.
//
// The detection rules are evaluated first: the policy's detectionRule
// conditions read which matched, and each matching rule other than the seed
// rule adds its alert (rules.Outcome).
func decideCall(f *detect.Facts, cfg config.Config, legacy *detect.Policy) detect.Decision {
	matched := matchRules(f, cfg, *legacy)
	d := decidePolicy(f, cfg, legacy, rules.IDsAndNames(matched))
	d.MatchedRules, d.Rules = rules.Outcome(matched)
	return d
}

func decidePolicy(f *detect.Facts, cfg config.Config, legacy *detect.Policy, matchedRules []string) detect.Decision {
	// An exec whose process spec could not be read cannot be matched: in
	// fail-closed mode it is refused whatever the policy says.
	if !f.Process.Known && f.Operation == detect.OpExec && legacy.FailMode == detect.FailClosed {
		return detect.Decide(*f, *legacy)
	}
	var p *policy.Policy
	switch {
	case cfg.PolicyFile != "":
		var err error
		if err = trustedPolicy(cfg.PolicyFile); err != nil {
			// Refused like an unreadable file: the last good policy stays
			// in force, or else the fail mode decides.
			p, err = policy.LastGood(cfg.PolicyFile, cfg.StateDir, err)
		} else {
			p, err = policy.LoadOrLastGood(cfg.PolicyFile, cfg.StateDir, policy.HelperParser(policyCompiler(cfg)))
		}
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

// trustedPolicy refuses a policy file that others than root could have
// written (see config.CheckTrusted).
func trustedPolicy(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil // LoadOrLastGood reports it
	}
	return config.CheckTrusted(path, fi)
}

// policyCompiler is the execguard command that parses policy files for the
// wrapper: configured, or beside the wrapper's own executable.
func policyCompiler(cfg config.Config) string {
	if cfg.PolicyCompiler != "" {
		return cfg.PolicyCompiler
	}
	exe, err := os.Executable()
	if err != nil {
		return "/usr/local/bin/execguard"
	}
	return filepath.Join(filepath.Dir(exe), "execguard")
}
