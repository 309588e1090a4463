package plugin

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/execguard/execguard/detect"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/pelletier/go-toml/v2"
	"github.com/sirupsen/logrus"

	"github.com/execguard/execguard/config"
)

// Defaults for the plugin's own settings.
const (
	DefaultSocket      = api.DefaultSocketPath // /var/run/nri/nri.sock
	DefaultPluginName  = "execguard"
	DefaultPluginIndex = "10"
	// DefaultStatusInterval bounds how often status.json is rewritten.
	DefaultStatusInterval = 500 * time.Millisecond
)

// Settings are the plugin's whole configuration: execguard's shared node
// settings (event log, state directory, cluster) and the plugin's own.
type Settings struct {
	// ExecguardConfig is execguard's node configuration file, read for
	// event_log, state_dir, cluster_name and cluster_id.
	ExecguardConfig string `toml:"execguard_config"`
	// EventLog, StateDir, ClusterName and ClusterID override what
	// ExecguardConfig says.
	EventLog    string `toml:"event_log"`
	StateDir    string `toml:"state_dir"`
	ClusterName string `toml:"cluster_name"`
	ClusterID   string `toml:"cluster_id"`

	// Socket, PluginName and PluginIndex are for the external (daemon) way
	// only; a plugin the runtime launches gets its connection, name and
	// index from the runtime.
	Socket      string `toml:"socket"`
	PluginName  string `toml:"plugin_name"`
	PluginIndex string `toml:"plugin_index"`

	// MetricsAddress is where /metrics is served (host:port); empty: off.
	MetricsAddress string `toml:"metrics_address"`
	// LogLevel is a logrus level: debug, info, warn, error.
	LogLevel string `toml:"log_level"`
	// LogFile receives the diagnostic log; empty: stderr. A plugin the
	// runtime launches has its stderr discarded, so it wants a file.
	LogFile string `toml:"log_file"`

	// StatusInterval bounds how often status.json is rewritten ("500ms").
	StatusInterval Duration `toml:"status_interval"`
}

// Duration reads "500ms"-style TOML strings.
type Duration time.Duration

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// DefaultSettings are the settings without any file.
func DefaultSettings() Settings {
	return Settings{
		ExecguardConfig: config.Path(),
		Socket:          DefaultSocket,
		PluginName:      DefaultPluginName,
		PluginIndex:     DefaultPluginIndex,
		LogLevel:        "info",
		StatusInterval:  Duration(DefaultStatusInterval),
	}
}

// ParseSettings lays a plugin configuration text (TOML; the runtime hands
// the content of /etc/nri/conf.d/<index>-execguard.conf to Configure) over
// base. Unknown keys are errors, so a typo does not pass silently.
func ParseSettings(base Settings, text []byte) (Settings, error) {
	if len(bytes.TrimSpace(text)) == 0 {
		return base, nil
	}
	var f Settings
	dec := toml.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			var unknown []string
			for _, e := range strict.Errors {
				unknown = append(unknown, strings.Join(e.Key(), "."))
			}
			return base, fmt.Errorf("plugin configuration: unknown keys: %s", strings.Join(unknown, ", "))
		}
		return base, fmt.Errorf("plugin configuration: %w", err)
	}
	s := base
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&s.ExecguardConfig, f.ExecguardConfig)
	set(&s.EventLog, f.EventLog)
	set(&s.StateDir, f.StateDir)
	set(&s.ClusterName, f.ClusterName)
	set(&s.ClusterID, f.ClusterID)
	set(&s.Socket, f.Socket)
	set(&s.PluginName, f.PluginName)
	set(&s.PluginIndex, f.PluginIndex)
	set(&s.MetricsAddress, f.MetricsAddress)
	set(&s.LogLevel, f.LogLevel)
	set(&s.LogFile, f.LogFile)
	if f.StatusInterval != 0 {
		s.StatusInterval = f.StatusInterval
	}
	return s, s.Validate()
}

// Validate reports every invalid setting at once.
func (s Settings) Validate() error {
	var problems []string
	abs := func(name, v string) {
		if v != "" && !filepath.IsAbs(v) {
			problems = append(problems, fmt.Sprintf("%s %q: want an absolute path", name, v))
		}
	}
	abs("execguard_config", s.ExecguardConfig)
	abs("event_log", s.EventLog)
	abs("state_dir", s.StateDir)
	abs("socket", s.Socket)
	abs("log_file", s.LogFile)
	if s.PluginIndex != "" {
		if err := api.CheckPluginIndex(s.PluginIndex); err != nil {
			problems = append(problems, fmt.Sprintf("plugin_index: %v", err))
		}
	}
	if s.PluginName != "" && strings.ContainsAny(s.PluginName, "/\x00") {
		problems = append(problems, fmt.Sprintf("plugin_name %q: no path separators", s.PluginName))
	}
	if _, err := logrus.ParseLevel(s.LogLevel); err != nil {
		problems = append(problems, fmt.Sprintf("log_level: %v", err))
	}
	if s.StatusInterval < 0 {
		problems = append(problems, "status_interval: want a positive duration")
	}
	if len(problems) > 0 {
		return errors.New("plugin configuration: " + strings.Join(problems, "; "))
	}
	return nil
}

// Node is what the plugin takes from execguard's node configuration, after
// the plugin's own overrides.
type Node struct {
	EventLog    string
	StateDir    string
	ClusterName string
	ClusterID   string
	// Namespace is the documents' data_stream.namespace.
	Namespace string
	// Redactor is the configuration's redaction, applied to the arguments
	// the plugin's documents record, as the wrapper applies it.
	Redactor *detect.Redactor
}

// Resolve reads execguard's node configuration and applies the overrides.
// A broken node configuration still gives usable values (its defaults), and
// the error says why.
func (s Settings) Resolve() (Node, error) {
	path := s.ExecguardConfig
	if path == "" {
		path = config.Path()
	}
	cfg, err := config.Load(path)
	n := Node{EventLog: cfg.EventLog, StateDir: cfg.StateDir, ClusterName: cfg.ClusterName, ClusterID: cfg.ClusterID, Namespace: cfg.DataStreamNamespace}
	// Load already fell back to the default patterns when the file's are
	// invalid, so this cannot fail a second time; keep the defaults if so.
	if red, rerr := cfg.Redactor(); rerr == nil {
		n.Redactor = red
	} else if red, rerr = config.Default().Redactor(); rerr == nil {
		n.Redactor = red
	}
	if s.EventLog != "" {
		n.EventLog = s.EventLog
	}
	if s.StateDir != "" {
		n.StateDir = s.StateDir
	}
	if s.ClusterName != "" {
		n.ClusterName = s.ClusterName
	}
	if s.ClusterID != "" {
		n.ClusterID = s.ClusterID
	}
	return n, err
}
