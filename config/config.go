// Package config reads execguard's node configuration: which real runtime
// each wrapper name stands for, where events go, and the decision settings.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/execguard/execguard/internal/trust"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/state"
)

const (
	// DefaultPath is read when EXECGUARD_CONFIG is not set.
	DefaultPath = "/etc/execguard/config.toml"
	// EnvPath names another configuration file; the runtime inherits it from
	// the engine that runs it (containerd passes its environment on; Podman
	// does not pass it to conmon).
	EnvPath = "EXECGUARD_CONFIG"
	// BesideWrapper is a configuration file in the wrapper's own directory,
	// for installs that keep the wrapper and its configuration together.
	BesideWrapper = "execguard.toml"
	// DefaultEventLog is where events go unless configured otherwise.
	DefaultEventLog = "/var/log/execguard/events.ndjson"
	// WrapperPrefix is removed from the wrapper's name before the runtime
	// lookup, so execguard-runc stands for runc.
	WrapperPrefix = "execguard-"
)

// Config is the whole file.
type Config struct {
	// EventLog is the NDJSON file events are appended to.
	EventLog string `toml:"event_log"`
	// InteractiveAction is log, alert or block.
	InteractiveAction detect.Action `toml:"interactive_action"`
	// FailMode is open or closed.
	FailMode detect.FailMode `toml:"fail_mode"`
	// StateDir is shared with the NRI plugin: its per-container metadata and
	// the wrapper's coverage marks.
	StateDir string `toml:"state_dir"`
	// PolicyFile is a D4C-style policy (YAML). Empty: the built-in default
	// policy, or the interactive_action shorthand when it is log or block.
	PolicyFile string `toml:"policy"`
	// PolicyCompiler is the execguard command the wrapper has parse a
	// changed policy file (the wrapper links no YAML parser). Empty: the
	// execguard binary beside the wrapper's executable.
	PolicyCompiler string `toml:"policy_compiler"`
	// RulesDir holds detection rule files (detection-rules TOML, EQL) the
	// wrapper evaluates on every exec and container start, beside the
	// built-in ones. Empty: the built-in rules only. docs/rules.md.
	RulesDir string `toml:"rules_dir"`
	// ClusterName and ClusterID name the Kubernetes cluster in events.
	ClusterName string `toml:"cluster_name"`
	ClusterID   string `toml:"cluster_id"`
	// DataStreamNamespace is the documents' data_stream.namespace (the
	// last part of logs-cloud_defend.process-<namespace>).
	DataStreamNamespace string `toml:"data_stream_namespace"`
	// Redact are RE2 patterns whose matches in process arguments events
	// record as [REDACTED] (only the first group, when a pattern has one);
	// RedactFlags are flags whose next argument is recorded so. Decisions
	// see the real arguments.
	Redact      []string `toml:"redact"`
	RedactFlags []string `toml:"redact_flags"`
	// EnvValues names the environment variables whose values events record;
	// of every other variable only the name is recorded.
	EnvValues []string `toml:"env_values"`
	// Runtimes maps a runtime name (runc, crun) to the absolute path of the
	// real binary.
	Runtimes map[string]string `toml:"runtimes"`
	// TTYRecordMaxBytes caps the terminal output recorded of one session
	// (a policy response's record action); 0: 512 KiB.
	TTYRecordMaxBytes int64 `toml:"tty_record_max_bytes"`
}

// DefaultTTYRecordMaxBytes is the cap on a recorded session's output when
// tty_record_max_bytes is not set: Elastic Defend's default.
const DefaultTTYRecordMaxBytes = 512 << 10

// TTYRecordCap is the cap on a recorded session's output in force.
func (c Config) TTYRecordCap() int64 {
	if c.TTYRecordMaxBytes <= 0 {
		return DefaultTTYRecordMaxBytes
	}
	return c.TTYRecordMaxBytes
}

// Default is the configuration used when no file exists.
func Default() Config {
	return Config{
		EventLog:            DefaultEventLog,
		InteractiveAction:   detect.ActionAlert,
		FailMode:            detect.FailOpen,
		StateDir:            state.DefaultDir,
		DataStreamNamespace: detect.DefaultNamespace,
		Redact:              append([]string(nil), detect.DefaultRedactPatterns...),
		RedactFlags:         append([]string(nil), detect.DefaultRedactFlags...),
		EnvValues:           []string{},
		Runtimes: map[string]string{
			"runc": "/usr/sbin/runc",
			"crun": "/usr/bin/crun",
		},
	}
}

// Path is the configuration file in effect for this process.
func Path() string {
	if p := os.Getenv(EnvPath); p != "" {
		return p
	}
	return DefaultPath
}

// PathFor is the configuration file for a wrapper called as argv0: the file
// EXECGUARD_CONFIG names; else execguard.toml beside the wrapper, when argv0
// is an absolute path and the file exists; else the default.
func PathFor(argv0 string) string {
	if p := os.Getenv(EnvPath); p != "" {
		return p
	}
	if filepath.IsAbs(argv0) {
		beside := filepath.Join(filepath.Dir(argv0), BesideWrapper)
		if _, err := os.Stat(beside); err == nil {
			return beside
		}
	}
	return DefaultPath
}

// Load reads the file at path. A missing file gives the defaults and no
// error. An invalid file gives an error naming the file and every problem,
// and a usable Config: the defaults with whatever could still be read from the
// file, so runtime calls keep working. A file that is not trusted (see
// CheckTrusted) gives the defaults and the error; only its fail mode counts,
// and only when it is the stricter one.
func Load(path string) (Config, error) {
	// Never blocks: a FIFO at the path would otherwise hang every runtime
	// call, pass-through ones included. A symbolic link is followed (a
	// ConfigMap mount is made of them); its target is what is checked.
	f, fi, err := trust.Open(path, trust.FollowLinks)
	if errors.Is(err, fs.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return Default(), fmt.Errorf("config %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err == nil && len(data) > maxFileBytes {
		err = fmt.Errorf("larger than %d bytes", maxFileBytes)
	}
	if err != nil {
		return Default(), fmt.Errorf("config %s: %w", path, err)
	}
	if err := CheckTrusted(path, fi); err != nil {
		cfg := Default()
		if refused, _ := Parse(path, data); refused.FailMode == detect.FailClosed {
			cfg.FailMode = detect.FailClosed
		}
		return cfg, fmt.Errorf("config %w (using the built-in defaults, fail mode %s)", err, cfg.FailMode)
	}
	return Parse(path, data)
}

// maxFileBytes bounds what Load reads; real files are a few hundred bytes.
const maxFileBytes = 1 << 20

// Parse decodes and validates a configuration file's content. The file is
// decoded over the defaults, so what it leaves out keeps its default value
// ([runtimes] entries are added to the default ones).
func Parse(path string, data []byte) (Config, error) {
	cfg := Default()
	if !parseSimple(data, &cfg) {
		cfg = Default()
		if err := decodeTOML(path, data, &cfg); err != nil {
			return cfg, err
		}
	}
	if err := cfg.validate(); err != nil {
		cfg.sanitize()
		return cfg, fmt.Errorf("config %s: %w (defaults used where invalid)", path, err)
	}
	return cfg, nil
}

// decodeTOML decodes data over cfg with go-toml; on error cfg is what a
// lenient read still gives, sanitized.
func decodeTOML(path string, data []byte, cfg *Config) error {
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		// Salvage what a lenient read still gives: above all the runtime
		// paths, without which no runtime call could run.
		loose := Default()
		if toml.Unmarshal(data, &loose) != nil {
			// Not TOML at all (a truncated file): the defaults, but a
			// fail_mode = "closed" line still holds, so a damaged file
			// never makes a fail-closed node fail open.
			loose = Default()
			if declaresFailClosed(data) {
				loose.FailMode = detect.FailClosed
			}
		}
		loose.sanitize()
		*cfg = loose
		return fmt.Errorf("config %s: %s (defaults used where invalid)", path, describe(err))
	}
	return nil
}

// declaresFailClosed reports whether a line of data, outside any table,
// reads fail_mode = "closed" (or with single quotes).
func declaresFailClosed(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			return false
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(key) != "fail_mode" {
			continue
		}
		val, _, _ = strings.Cut(val, "#")
		v := strings.TrimSpace(val)
		return v == `"closed"` || v == `'closed'`
	}
	return false
}

// RuntimePath returns the real runtime for the name the wrapper was called
// by (its argv[0]).
func (c Config) RuntimePath(argv0 string) (string, error) {
	name := strings.TrimPrefix(filepath.Base(argv0), WrapperPrefix)
	p, ok := c.Runtimes[name]
	if !ok || p == "" {
		return "", fmt.Errorf("no real runtime configured for %q (called as %q); set [runtimes] %s = \"/path/to/%s\" in %s", name, argv0, name, name, PathFor(argv0))
	}
	return p, nil
}

// Redactor is what rewrites arguments and environments in events.
func (c Config) Redactor() (*detect.Redactor, error) {
	return detect.NewRedactor(c.Redact, c.RedactFlags, c.EnvValues)
}

// Policy is the decision setting the configuration gives.
func (c Config) Policy() detect.Policy {
	return detect.Policy{Interactive: c.InteractiveAction, FailMode: c.FailMode}
}

func (c Config) validate() error {
	var problems []string
	switch c.InteractiveAction {
	case detect.ActionLog, detect.ActionAlert, detect.ActionBlock:
	default:
		problems = append(problems, fmt.Sprintf("interactive_action %q: want log, alert or block", c.InteractiveAction))
	}
	switch c.FailMode {
	case detect.FailOpen, detect.FailClosed:
	default:
		problems = append(problems, fmt.Sprintf("fail_mode %q: want open or closed", c.FailMode))
	}
	if !filepath.IsAbs(c.EventLog) {
		problems = append(problems, fmt.Sprintf("event_log %q: want an absolute path", c.EventLog))
	}
	if !filepath.IsAbs(c.StateDir) {
		problems = append(problems, fmt.Sprintf("state_dir %q: want an absolute path", c.StateDir))
	}
	if c.PolicyFile != "" && !filepath.IsAbs(c.PolicyFile) {
		problems = append(problems, fmt.Sprintf("policy %q: want an absolute path", c.PolicyFile))
	}
	if err := ValidNamespace(c.DataStreamNamespace); err != nil {
		problems = append(problems, err.Error())
	}
	if c.PolicyCompiler != "" && !filepath.IsAbs(c.PolicyCompiler) {
		problems = append(problems, fmt.Sprintf("policy_compiler %q: want an absolute path", c.PolicyCompiler))
	}
	if c.TTYRecordMaxBytes < 0 {
		problems = append(problems, fmt.Sprintf("tty_record_max_bytes %d: want a number of bytes, or 0 for the default", c.TTYRecordMaxBytes))
	}
	// Checking a pattern means compiling it, which every runtime call
	// (pass-through ones too) would pay; the built-in patterns are known to
	// compile (detect's tests), so only patterns from the file are checked.
	if !slices.Equal(c.Redact, detect.DefaultRedactPatterns) {
		if _, err := c.Redactor(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	names := make([]string, 0, len(c.Runtimes))
	for name := range c.Runtimes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if p := c.Runtimes[name]; !filepath.IsAbs(p) {
			problems = append(problems, fmt.Sprintf("runtimes.%s %q: want an absolute path (runtimes are never looked up in PATH)", name, p))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// sanitize replaces invalid values by their defaults after a failed load.
func (c *Config) sanitize() {
	d := Default()
	switch c.InteractiveAction {
	case detect.ActionLog, detect.ActionAlert, detect.ActionBlock:
	default:
		c.InteractiveAction = d.InteractiveAction
	}
	switch c.FailMode {
	case detect.FailOpen, detect.FailClosed:
	default:
		c.FailMode = d.FailMode
	}
	if !filepath.IsAbs(c.EventLog) {
		c.EventLog = d.EventLog
	}
	if !filepath.IsAbs(c.StateDir) {
		c.StateDir = d.StateDir
	}
	if c.PolicyCompiler != "" && !filepath.IsAbs(c.PolicyCompiler) {
		c.PolicyCompiler = ""
	}
	if c.TTYRecordMaxBytes < 0 {
		c.TTYRecordMaxBytes = 0
	}
	if ValidNamespace(c.DataStreamNamespace) != nil {
		c.DataStreamNamespace = d.DataStreamNamespace
	}
	if _, err := c.Redactor(); err != nil {
		c.Redact = d.Redact
	}
	// A relative policy path stays: the policy then fails to load and the
	// fail mode decides, rather than a silently weaker default.
	for name, p := range c.Runtimes {
		if !filepath.IsAbs(p) {
			if dp, ok := d.Runtimes[name]; ok {
				c.Runtimes[name] = dp
			} else {
				delete(c.Runtimes, name)
			}
		}
	}
}

// describe adds the line and column go-toml knows to its errors.
func describe(err error) string {
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) {
		var parts []string
		for _, e := range sm.Errors {
			row, col := e.Position()
			parts = append(parts, fmt.Sprintf("line %d, column %d: unknown key %q", row, col, strings.Join(e.Key(), ".")))
		}
		return strings.Join(parts, "; ")
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		return fmt.Sprintf("line %d, column %d: %s", row, col, de.Error())
	}
	return err.Error()
}

// ValidNamespace checks a data stream namespace as Elasticsearch does:
// lower case, no "-" (it separates the parts of a data stream's name), none
// of \ / * ? " < > | , # : or space, at most 100 bytes.
func ValidNamespace(ns string) error {
	switch {
	case ns == "":
		return fmt.Errorf("data_stream_namespace: empty, want a name such as %q", detect.DefaultNamespace)
	case len(ns) > 100:
		return fmt.Errorf("data_stream_namespace %q: %d bytes, at most 100", ns, len(ns))
	case strings.ContainsAny(ns, "-\\/*?\"<>|,#: ") || strings.ToLower(ns) != ns:
		return fmt.Errorf("data_stream_namespace %q: want lower case without - \\ / * ? \" < > | , # : or spaces", ns)
	}
	return nil
}
