package runtime

import (
	"os"
	"path/filepath"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/policy"
	"github.com/execguard/execguard/runtime/core"
)

// sources are the wrapper's policy and rules: read anew for every call, a
// changed policy file parsed by the execguard command (policyCompiler), so
// that the wrapper does not link a YAML parser.
func sources(cfg config.Config) core.Sources {
	// The helper is looked up only when a policy file must be parsed:
	// most calls read the compiled cache or have no policy at all.
	return core.FileSources{Parse: policy.LazyHelperParser(func() string { return policyCompiler(cfg) })}
}

// decideCall applies the configured policy and the detection rules to the
// facts (see core.Evaluate).
func decideCall(f *detect.Facts, cfg config.Config, legacy *detect.Policy) detect.Decision {
	return core.Evaluate(f, cfg, legacy, sources(cfg))
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
