package runtime

import (
	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/rules"
	"github.com/execguard/execguard/runtime/core"
)

// matchRules evaluates the detection rules in force on the event the call
// would record (see core.MatchRules).
func matchRules(f *detect.Facts, cfg config.Config, p detect.Policy) []*rules.Rule {
	return core.MatchRules(f, cfg, p, sources(cfg))
}
