// Package rules runs Elastic detection rules written in EQL at the runtime:
// it reads rule files in the detection-rules TOML format ([metadata], [rule]
// with rule_id, name, severity, risk_score, language = "eql", query and
// [[rule.threat]]), keeps those the runtime can evaluate, says why it drops
// the others, and matches the kept ones against a call's event document.
//
// execguard's default rule (the seed rule, 420e5bb4-93bf-40a3-8f4a-4cc1af90eca1,
// in its 2023 and 2026 forms) is embedded (default/*.toml). Its alert has
// always been the interactive-entry-leader alert the policy decides, and
// stays so: a match of a rule with the seed's id is recorded on the event
// (execguard.matched_rules) and can be bound to a policy response, but raises
// no second alert. Every other rule raises its own alert on a match, at most
// one per rule id and event, whichever of its files matched.
package rules

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/eql"
)

// Bounds on what a rules directory may hold.
const (
	MaxFileSize = 1 << 20
	MaxFiles    = 1000
)

//go:embed default/*.toml
var defaultFS embed.FS

// Rule is one detection rule read from a rule file.
type Rule struct {
	File        string
	ID          string
	Name        string
	Description string
	Severity    string
	RiskScore   int
	References  []string
	Threat      []detect.Threat
	Query       *eql.Query
}

// Alert is what the rule's alert carries.
func (r *Rule) Alert() detect.RuleAlert {
	a := detect.RuleAlert{
		ID: r.ID, Name: r.Name, Description: r.Description, Severity: r.Severity,
		RiskScore: r.RiskScore, References: r.References, Threat: r.Threat,
	}
	if len(r.Threat) > 0 {
		a.Category = r.Threat[0].Tactic.Name
	}
	return a
}

// Seed reports whether the rule is execguard's seed rule, whose alert the
// policy decides.
func (r *Rule) Seed() bool { return r.ID == detect.RuleID }

// PolicyDecided reports whether the rule's alert is the one the policy
// decides: the seed rule's, and the attached-stdin shell rule's. Their
// matches raise no alert of their own.
func (r *Rule) PolicyDecided() bool { return r.Seed() || r.ID == detect.StdinShellRuleID }

// Skipped is a valid rule file the runtime cannot evaluate, and why.
type Skipped struct {
	File, ID, Name, Reason string
}

// Set is the rules in force: those that run, in load order, and those
// skipped as not applicable.
type Set struct {
	Rules   []*Rule
	Skipped []Skipped
}

// Error is one invalid rule file: where and what.
type Error struct {
	File      string
	Line, Col int // 0 when unknown
	Msg       string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ruleFile is the part of a detection-rules TOML file execguard reads; the
// rest ([metadata], note, tags, ...) is skipped.
type ruleFile struct {
	Rule *struct {
		RuleID      string   `toml:"rule_id"`
		Name        string   `toml:"name"`
		Description string   `toml:"description"`
		Severity    string   `toml:"severity"`
		RiskScore   *int     `toml:"risk_score"`
		Language    string   `toml:"language"`
		Type        string   `toml:"type"`
		Query       string   `toml:"query"`
		References  []string `toml:"references"`
		Threat      []struct {
			Framework string  `toml:"framework"`
			Tactic    tomlRef `toml:"tactic"`
			Technique []struct {
				tomlRef
				Subtechnique []tomlRef `toml:"subtechnique"`
			} `toml:"technique"`
		} `toml:"threat"`
	} `toml:"rule"`
}

type tomlRef struct {
	ID        string `toml:"id"`
	Name      string `toml:"name"`
	Reference string `toml:"reference"`
}

// Parse reads one rule file. It returns the rule, or a Skipped saying why
// the runtime cannot evaluate it, or an *Error.
func Parse(file string, data []byte) (*Rule, *Skipped, error) {
	return parse(file, data, detect.EventFields())
}

func parse(file string, data []byte, known func(string) bool) (*Rule, *Skipped, error) {
	var rf ruleFile
	if err := toml.Unmarshal(data, &rf); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			return nil, nil, &Error{File: file, Line: line, Col: col, Msg: de.Error()}
		}
		return nil, nil, &Error{File: file, Msg: err.Error()}
	}
	if rf.Rule == nil {
		return nil, nil, &Error{File: file, Msg: "no [rule] table: not a detection rule file"}
	}
	rr := rf.Rule
	var missing []string
	for _, kv := range []struct{ key, val string }{
		{"rule_id", rr.RuleID}, {"name", rr.Name}, {"severity", rr.Severity}, {"language", rr.Language}, {"query", rr.Query},
	} {
		if strings.TrimSpace(kv.val) == "" {
			missing = append(missing, kv.key)
		}
	}
	if rr.RiskScore == nil {
		missing = append(missing, "risk_score")
	}
	if len(missing) > 0 {
		return nil, nil, &Error{File: file, Msg: "[rule] lacks " + strings.Join(missing, ", ")}
	}
	switch rr.Severity {
	case "low", "medium", "high", "critical":
	default:
		return nil, nil, &Error{File: file, Msg: fmt.Sprintf("severity %q: want low, medium, high or critical", rr.Severity)}
	}
	if *rr.RiskScore < 0 || *rr.RiskScore > 100 {
		return nil, nil, &Error{File: file, Msg: fmt.Sprintf("risk_score %d: want 0 to 100", *rr.RiskScore)}
	}
	skip := &Skipped{File: file, ID: rr.RuleID, Name: rr.Name}
	if rr.Language != "eql" || (rr.Type != "" && rr.Type != "eql") {
		skip.Reason = fmt.Sprintf("a %s rule in %s: only EQL rules run at the runtime", orDefault(rr.Type, "query"), rr.Language)
		return nil, skip, nil
	}
	q, err := eql.Compile(rr.Query)
	if err != nil {
		var se *eql.SyntaxError
		if errors.As(err, &se) && se.Unsupported {
			skip.Reason = "needs what the runtime cannot evaluate: " + se.Msg
			if kind, _, ok := strings.Cut(se.Msg, " queries are not supported"); ok && isMultiEvent(kind) {
				skip.Reason = fmt.Sprintf("a %s query over several events: the runtime decides each process start on its own, before the process runs, and does not evaluate it; Elasticsearch does", kind)
			}
			return nil, skip, nil
		}
		return nil, nil, queryError(file, string(data), rr.Query, err)
	}
	if reason := notApplicable(q, known); reason != "" {
		skip.Reason = reason
		return nil, skip, nil
	}
	r := &Rule{
		File: file, ID: rr.RuleID, Name: rr.Name, Description: rr.Description, Severity: rr.Severity,
		RiskScore: *rr.RiskScore, References: rr.References, Query: q,
	}
	for _, t := range rr.Threat {
		th := detect.Threat{Framework: t.Framework, Tactic: detect.ThreatRef(t.Tactic)}
		for _, tq := range t.Technique {
			tech := detect.Technique{ThreatRef: detect.ThreatRef(tq.tomlRef)}
			for _, s := range tq.Subtechnique {
				tech.Subtechniques = append(tech.Subtechniques, detect.ThreatRef(s))
			}
			th.Techniques = append(th.Techniques, tech)
		}
		r.Threat = append(r.Threat, th)
	}
	return r, nil, nil
}

func isMultiEvent(w string) bool { return w == "sequence" || w == "sample" || w == "join" }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// queryError places a query's syntax error in the rule file, when the query
// appears there verbatim (a ”' literal string, as detection rules write it).
func queryError(file, data, query string, err error) error {
	var se *eql.SyntaxError
	if !errors.As(err, &se) {
		return &Error{File: file, Msg: "query: " + err.Error()}
	}
	at := strings.Index(data, query)
	if at < 0 {
		return &Error{File: file, Msg: fmt.Sprintf("query line %d, column %d: %s", se.Line, se.Column, se.Msg)}
	}
	before := data[:at]
	line := strings.Count(before, "\n") + se.Line
	col := se.Column
	if se.Line == 1 {
		col += len([]rune(before[strings.LastIndexByte(before, '\n')+1:]))
	}
	return &Error{File: file, Line: line, Col: col, Msg: "query: " + se.Msg}
}

// notApplicable says why a compiled query cannot match what the runtime
// sees, or "" when it can.
func notApplicable(q *eql.Query, known func(string) bool) string {
	switch q.Category() {
	case "", "process":
	default:
		return fmt.Sprintf("reads %s events: the runtime sees process starts only (an exec, a container's init)", q.Category())
	}
	if known == nil {
		return ""
	}
	for _, f := range q.Fields() {
		if !f.Optional && strings.HasPrefix(f.Name, "process.parent.") {
			return fmt.Sprintf("reads %s: the runtime sees the process it starts as the entry leader, whose parent is the engine that called the runtime (containerd-shim, conmon), never a process in the container; rules on a process's parent describe descendant processes", f.Name)
		}
		if !f.Optional && !known(f.Name) {
			return fmt.Sprintf("reads %s, which the runtime's events never carry: it sees the process it starts, not that process's descendants, files or network", f.Name)
		}
	}
	return ""
}

// LoadDir reads every *.toml file of dir (not those whose names start with
// a dot), in name order. Invalid files are left out; the error lists each
// of them (errors.Join of *Error) while the set holds the rest.
func LoadDir(dir string) (*Set, error) {
	return loadFS(os.DirFS(dir), ".", dir+string(filepath.Separator), detect.EventFields(), nil)
}

// A TrustCheck says why a file or directory must not be trusted (one that
// others than root can write), or nil.
type TrustCheck func(path string, fi fs.FileInfo) error

// LoadDirTrusted is LoadDir for the runtime wrapper, which runs as root:
// the directory and each file must pass trust, or they are refused (the
// whole directory, or that file), with the reason in the error.
func LoadDirTrusted(dir string, trust TrustCheck) (*Set, error) {
	return loadFS(os.DirFS(dir), ".", dir+string(filepath.Separator), detect.EventFields(), trust)
}

// loadFS reads the rule files of dir in fsys; known says which fields
// events carry (nil: do not check), trust which files may be read (nil:
// all).
func loadFS(fsys fs.FS, dir, prefix string, known func(string) bool, trust TrustCheck) (*Set, error) {
	if trust != nil {
		path := strings.TrimSuffix(prefix, string(filepath.Separator))
		fi, err := fs.Stat(fsys, dir)
		if err == nil {
			err = trust(path, fi)
		}
		if err != nil {
			return &Set{}, fmt.Errorf("rules directory %s: %w", path, unwrapPath(err))
		}
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return &Set{}, fmt.Errorf("rules directory %s: %w", strings.TrimSuffix(prefix, "/"), unwrapPath(err))
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.HasSuffix(n, ".toml") && !strings.HasPrefix(n, ".") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	set := &Set{}
	var errs []error
	if len(names) > MaxFiles {
		errs = append(errs, fmt.Errorf("rules directory %s: %d rule files, only the first %d are read", strings.TrimSuffix(prefix, "/"), len(names), MaxFiles))
		names = names[:MaxFiles]
	}
	for _, n := range names {
		file := prefix + n
		if trust != nil {
			fi, err := fs.Stat(fsys, pathJoin(dir, n))
			if err == nil {
				err = trust(file, fi)
			}
			if err != nil {
				errs = append(errs, &Error{File: file, Msg: unwrapPath(err).Error()})
				continue
			}
		}
		data, err := readFile(fsys, pathJoin(dir, n))
		if err != nil {
			errs = append(errs, &Error{File: file, Msg: err.Error()})
			continue
		}
		r, skip, err := parse(file, data, known)
		switch {
		case err != nil:
			errs = append(errs, err)
		case skip != nil:
			set.Skipped = append(set.Skipped, *skip)
		default:
			set.Rules = append(set.Rules, r)
		}
	}
	return set, errors.Join(errs...)
}

func pathJoin(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

func readFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d bytes: a rule file is a few KiB", MaxFileSize)
	}
	return data, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Merge appends other's rules and skipped files to s.
func (s *Set) Merge(other *Set) {
	if other == nil {
		return
	}
	s.Rules = append(s.Rules, other.Rules...)
	s.Skipped = append(s.Skipped, other.Skipped...)
}

// Match returns the rules whose queries match the event document, in load
// order.
func (s *Set) Match(doc map[string]any) []*Rule { return s.MatchDocument(eql.Prepare(doc)) }

// MatchEvent is Match on the event r's call would record (detect.RuleFields),
// read from the typed document.
func (s *Set) MatchEvent(r detect.Record) []*Rule {
	return s.MatchDocument(eql.FromSource(detect.RuleFields(r)))
}

// MatchDocument is Match on a prepared document.
func (s *Set) MatchDocument(d *eql.Document) []*Rule {
	var out []*Rule
	for _, r := range s.Rules {
		if r.Query.MatchDocument(d) {
			out = append(out, r)
		}
	}
	return out
}

// Outcome is what matched rules mean for one event: the names of the rules
// that matched (execguard.matched_rules), and the alerts they raise: one
// per rule id, the first matching file's, none for the seed rule and the
// attached-stdin shell rule (whose alerts the policy decides).
func Outcome(matched []*Rule) (names []string, alerts []detect.RuleAlert) {
	seen := map[string]bool{}
	named := map[string]bool{}
	for _, r := range matched {
		if !named[r.Name] {
			named[r.Name] = true
			names = append(names, r.Name)
		}
		if r.PolicyDecided() || seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		alerts = append(alerts, r.Alert())
	}
	return names, alerts
}

// Decided is the alert metadata of each matched rule whose alert the policy
// decides, one per id: the last matching file's in load order, so the seed
// rule's 2026 form wins over its 2023 form, and a rules_dir copy over both.
func Decided(matched []*Rule) []detect.RuleAlert {
	var out []detect.RuleAlert
	at := map[string]int{}
	for _, r := range matched {
		if !r.PolicyDecided() {
			continue
		}
		if i, ok := at[r.ID]; ok {
			out[i] = r.Alert()
			continue
		}
		at[r.ID] = len(out)
		out = append(out, r.Alert())
	}
	return out
}

// IDsAndNames lists the ids and names of matched rules, what a policy's
// detectionRule condition is compared with.
func IDsAndNames(matched []*Rule) []string {
	out := make([]string, 0, 2*len(matched))
	for _, r := range matched {
		out = append(out, r.ID, r.Name)
	}
	return out
}
