// Package spec is a policy as data: what the YAML file says, with the
// position of everything in it, before compilation. The YAML reader
// (internal/yamlspec) produces it, package policy compiles it, and the node
// cache and the policy compiler helper carry it in a compact binary form
// (codec.go) that is much faster to read than YAML.
//
// It is its own package so that the runtime wrapper, which links package
// policy, does not link the YAML parser: go.yaml.in/yaml/v3 costs every
// process that links it about 0.15 ms of package initialisation.
package spec

// Pos is a position in the policy file, 1-based.
type Pos struct {
	Line, Col int
}

// Spec is a whole policy.
type Spec struct {
	Selectors []Selector
	Responses []Response
	// Notes are warnings found while reading: they do not make the policy
	// invalid.
	Notes Errors
}

// Selector is one process selector.
type Selector struct {
	Name  string
	Index int // in the file's list
	Pos   Pos
	Conds []Cond
}

// Cond is one condition of a selector: its values, or its flag.
type Cond struct {
	Key     string
	Pos     Pos
	Values  []Value
	Flag    bool
	Windows []Window
	// Bad marks a condition that could not be read (an error says why): it
	// is not compiled, but it still counts as written.
	Bad bool
}

// Value is one scalar and where it is.
type Value struct {
	S   string
	Pos Pos
}

// Response is one process response.
type Response struct {
	Index   int
	Pos     Pos
	Match   []Value
	Exclude []Value
	Actions []Value
	// Positions of the keys, for errors about the lists as a whole.
	MatchPos, ActionsPos Pos
}

// Window is a maintenanceWindow as written.
type Window struct {
	Days     []string
	Hours    string
	Timezone string
	Pos      Pos
	// Positions of the parts, for errors found when compiling.
	DaysPos, HoursPos, ZonePos Pos
}

// Shape is the YAML shape a selector condition takes.
type Shape uint8

const (
	Scalars Shape = iota // a list of scalars
	Boolean              // true or false
	Windows              // a mapping, or a list of mappings
)

// Conditions lists every selector condition with its shape. Package policy
// gives each its meaning (and tests that it knows each of them).
func Conditions() map[string]Shape {
	return map[string]Shape{
		"operation":                Scalars,
		"processExecutable":        Scalars,
		"processName":              Scalars,
		"sessionLeaderInteractive": Boolean,
		"stdin":                    Scalars,
		"stdinShell":               Boolean,
		"containerImageName":       Scalars,
		"containerImageFullName":   Scalars,
		"containerImageTag":        Scalars,
		"kubernetesClusterId":      Scalars,
		"kubernetesClusterName":    Scalars,
		"kubernetesNamespace":      Scalars,
		"kubernetesPodName":        Scalars,
		"kubernetesPodLabel":       Scalars,
		"containerName":            Scalars,
		"processUserId":            Scalars,
		"processUserName":          Scalars,
		"processArgs":              Scalars,
		"maintenanceWindow":        Windows,
		"detectionRule":            Scalars,
		"kubernetesUser":           Scalars,
		"kubernetesGroup":          Scalars,
	}
}

// UnsupportedD4C says why a D4C selector key is not taken.
func UnsupportedD4C(key string) (string, bool) {
	switch key {
	case "targetFilePath", "ignoreVolumeMounts", "ignoreVolumeFiles":
		return "a file selector condition; put file selectors under file:, which execguard ignores", true
	case "sessionLeaderName":
		return "for an exec or a container start the session leader is the process itself: use processName", true
	case "kubernetesPodId":
		return "not supported: select pods by kubernetesPodName or kubernetesPodLabel", true
	}
	return "", false
}

// MaxFileSize is the largest policy file read, in bytes. A policy of 200
// selectors and 50 responses is about 30 KiB.
const MaxFileSize = 1 << 20
