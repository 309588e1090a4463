package shim

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/policy"
	"github.com/execguard/execguard/detect/policy/policyfile"
	"github.com/execguard/execguard/detect/rules"
	"github.com/execguard/execguard/runtime/core"
	"github.com/execguard/execguard/state"
)

// racyWindow is how old a file's last change must be before its stat key is
// trusted: file times come from a coarse clock, so a file changed twice
// within it may keep its times and size. Recently changed files are read
// again at every decision.
const racyWindow = 2 * time.Second

// sources keep the configuration, the policy and the rules the shim decides
// with, loaded once and loaded again when their files change: every decision
// costs a stat of each file instead of reading and parsing them.
type sources struct {
	cfgPath string
	files   core.FileSources
	now     func() time.Time

	host detect.Host

	mu     sync.Mutex
	loaded bool
	cfgKey string
	cfg    config.Config
	cfgErr error
	red    *detect.Redactor
	redErr error

	polPath string
	polKey  string
	pol     *policy.Policy
	polErr  error

	rulesKey      string
	rules         *rules.Set
	rulesProblems []string
}

func newSources(cfgPath string) *sources {
	return &sources{cfgPath: cfgPath, files: core.FileSources{Parse: policyfile.ParseSpec}, now: time.Now, host: state.LocalHost()}
}

// config is the configuration in force, and why it is not the file's.
func (s *sources) config() (config.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := statKey(s.cfgPath, s.now())
	if key == "" || key != s.cfgKey {
		s.cfg, s.cfgErr = config.Load(s.cfgPath)
		s.red, s.redErr = s.cfg.Redactor()
		s.cfgKey, s.loaded = key, true
	}
	return s.cfg, s.cfgErr
}

// lastConfig is the configuration last loaded (the defaults before the
// first), for a decision that could not be made at all.
func (s *sources) lastConfig() config.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		return config.Default()
	}
	return s.cfg
}

// Redactor implements core.Sources: the redactor of the configuration
// config last returned, compiled when it was loaded.
func (s *sources) Redactor(config.Config) (*detect.Redactor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.red, s.redErr
}

// Host implements core.Sources: the node as it was when the shim started.
func (s *sources) Host() detect.Host { return s.host }

// Policy implements core.Sources.
func (s *sources) Policy(cfg config.Config) (*policy.Policy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := statKey(cfg.PolicyFile, s.now())
	if key == "" || key != s.polKey || cfg.PolicyFile != s.polPath {
		s.pol, s.polErr = s.files.Policy(cfg)
		s.polPath, s.polKey = cfg.PolicyFile, key
	}
	return s.pol, s.polErr
}

// Rules implements core.Sources. The rules are loaded again when rules_dir
// or one of its entries changed.
func (s *sources) Rules(cfg config.Config) (*rules.Set, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := "none"
	if filepath.IsAbs(cfg.RulesDir) {
		key = dirKey(cfg.RulesDir, s.now())
	}
	key = cfg.RulesDir + "\x00" + key
	if strings.HasSuffix(key, "\x00") || key != s.rulesKey || s.rules == nil {
		s.rules, s.rulesProblems = core.LoadRules(cfg)
		s.rulesKey = key
	}
	return s.rules, s.rulesProblems
}

// statKey identifies a file's content without reading it: device, inode,
// size, mode, owner and times; "missing" when it does not exist; "" when it
// changed too recently to be trusted or cannot be stat'ed.
func statKey(path string, now time.Time) string {
	if path == "" {
		return "none"
	}
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return "missing"
	}
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	ctime := time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	mtime := time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
	if now.Sub(ctime) < racyWindow || now.Sub(mtime) < racyWindow {
		return ""
	}
	return fmt.Sprintf("%d:%d:%d:%o:%d:%d:%d", st.Dev, st.Ino, st.Size, st.Mode, st.Uid, ctime.UnixNano(), mtime.UnixNano())
}

// dirKey is statKey of a directory and of each of its entries; "" when any
// of them is not to be trusted.
func dirKey(dir string, now time.Time) string {
	k := statKey(dir, now)
	if k == "" || k == "missing" {
		return k
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(k)
	for _, n := range names {
		ek := statKey(filepath.Join(dir, n), now)
		if ek == "" {
			return ""
		}
		b.WriteString("|" + n + "=" + ek)
	}
	return b.String()
}
