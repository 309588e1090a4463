package policy

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/policy/internal/spec"
)

const (
	opExec uint8 = 1 << iota
	opStart
)

const (
	maxNameLen  = 128 // D4C's limit for selector names
	maxArgWords = 63  // words in one processArgs pattern: one word of state
)

type selector struct {
	name string
	// ops is the operation condition: the operations that match. hasOps is
	// false when the selector has none (every operation matches).
	ops    uint8
	hasOps bool
	checks []check
}

// check is one compiled condition; which fields are used depends on kind.
type check struct {
	kind    condKind
	globs   []glob
	labels  []labelPattern
	ids     []uint32
	flag    bool
	args    []argsPattern
	windows []window
	rules   []string // detectionRule: rule ids or names, "*" for any
	stdin   []detect.Stdin
}

type labelPattern struct {
	key   string
	value glob
}

// argsPattern matches a whole argument list: one glob per argument, and **
// words that stand for any number of arguments.
type argsPattern struct {
	words []glob
	multi uint64 // bit i: word i is **
}

type response struct {
	match, exclude    []int
	log, alert, block bool
	// record: record a terminal session's output (runtime/ttyrec).
	record bool
}

// compile turns a spec into a policy, reporting every problem.
func compile(file string, s *spec.Spec) (*Policy, Errors) {
	errs := &spec.List{File: file}
	notes := &spec.List{File: file, Errs: append(Errors(nil), s.Notes...)}
	p := &Policy{source: file}
	index := make(map[string]int, len(s.Selectors))
	p.selectors = make([]selector, 0, len(s.Selectors))
	for _, ss := range s.Selectors {
		key := selectorKey(ss.Index)
		if ss.Name != "" {
			if msg := checkName(ss.Name); msg != "" {
				errs.Add(ss.Pos.Line, ss.Pos.Col, key()+".name", msg, "use letters, digits, - and _, starting with a letter or digit, at most 128 characters")
			} else if prev, dup := index[ss.Name]; dup {
				errs.Add(ss.Pos.Line, ss.Pos.Col, key()+".name", fmt.Sprintf("selector %q is defined twice", ss.Name),
					fmt.Sprintf("it is also process.selectors[%d]; give each selector its own name", s.Selectors[prev].Index))
			} else {
				index[ss.Name] = len(p.selectors)
			}
		}
		sel := selector{name: ss.Name, checks: make([]check, 0, len(ss.Conds))}
		if len(ss.Conds) == 0 && ss.Name != "" {
			errs.Add(ss.Pos.Line, ss.Pos.Col, key(), fmt.Sprintf("selector %q has no condition", ss.Name),
				"a selector needs at least one condition, e.g. operation: [exec]; an empty one would match everything")
		}
		for _, c := range ss.Conds {
			if !c.Bad {
				compileCond(&sel, c, ss.Index, errs, notes, p)
			}
		}
		// Cheap checks first; insertion sort, as a selector has few.
		for i := 1; i < len(sel.checks); i++ {
			for j := i; j > 0 && sel.checks[j].kind < sel.checks[j-1].kind; j-- {
				sel.checks[j], sel.checks[j-1] = sel.checks[j-1], sel.checks[j]
			}
		}
		p.selectors = append(p.selectors, sel)
	}
	authored := authoredKeys(s)
	identity := identityKeys(s)
	used := make([]bool, len(p.selectors))
	p.responses = make([]response, 0, len(s.Responses))
	for _, rs := range s.Responses {
		key := fmt.Sprintf("process.responses[%d]", rs.Index)
		var r response
		r.match = resolve(rs.Match, key+".match", index, errs, used)
		r.exclude = resolve(rs.Exclude, key+".exclude", index, errs, used)
		if rs.Match != nil && len(rs.Match) == 0 {
			errs.Add(rs.MatchPos.Line, rs.MatchPos.Col, key+".match", "empty list", "name at least one selector")
		}
		for _, a := range rs.Actions {
			switch a.S {
			case "log":
				r.log = true
			case "alert":
				r.alert = true
			case "block":
				r.block = true
			case "record":
				r.record = true
			default:
				hint := "actions are log, alert, block and record"
				if sg := spec.Suggest(a.S, []string{"log", "alert", "block", "record"}); sg != "" {
					hint = fmt.Sprintf("did you mean %s?", sg)
				}
				errs.Add(a.Pos.Line, a.Pos.Col, key+".actions", fmt.Sprintf("unknown action %q", a.S), hint)
			}
		}
		if r.block && !r.alert {
			errs.Add(rs.ActionsPos.Line, rs.ActionsPos.Col, key+".actions", "block without alert",
				"D4C requires alert with block, and so does execguard: write actions: [alert, block]")
		}
		noteAuthored(rs, r, authored, p, notes)
		noteIdentity(rs, r, identity, p, notes)
		for _, m := range r.match {
			for _, x := range r.exclude {
				if m == x {
					notes.Add(rs.Pos.Line, rs.Pos.Col, key, fmt.Sprintf("selector %q is both matched and excluded: this response never applies through it", p.selectors[m].name), "")
				}
			}
		}
		p.responses = append(p.responses, r)
	}
	for i, ss := range s.Selectors {
		if i < len(used) && !used[i] && ss.Name != "" {
			notes.Add(ss.Pos.Line, ss.Pos.Col, selectorKey(ss.Index)(), fmt.Sprintf("selector %q is not used by any response", ss.Name), "")
		}
	}
	if len(errs.Errs) > 0 {
		return nil, spec.Sort(errs.Errs)
	}
	p.notes = spec.Sort(notes.Errs)
	return p, nil
}

// authorChosen are the conditions on what a pod's author chooses freely:
// anyone who can create a pod can give it any name, label or image.
var authorChosen = []string{"containerName", "kubernetesPodName", "kubernetesPodLabel",
	"containerImageName", "containerImageFullName", "containerImageTag"}

// authoredKeys lists, per selector, its conditions on what a pod's author
// chooses, when nothing a pod's author cannot choose (its namespace, its
// cluster) narrows it.
func authoredKeys(s *spec.Spec) [][]string {
	out := make([][]string, len(s.Selectors))
	for i, ss := range s.Selectors {
		var keys []string
		narrowed := false
		for _, c := range ss.Conds {
			switch {
			case c.Key == "kubernetesNamespace" || c.Key == "kubernetesClusterId" || c.Key == "kubernetesClusterName":
				narrowed = true
			case in(authorChosen, c.Key):
				keys = append(keys, c.Key)
			}
		}
		if !narrowed {
			out[i] = keys
		}
	}
	return out
}

// identityKeys lists, per selector, its conditions on who asked: only the
// admission webhook knows that.
func identityKeys(s *spec.Spec) [][]string {
	out := make([][]string, len(s.Selectors))
	for i, ss := range s.Selectors {
		for _, c := range ss.Conds {
			if c.Key == "kubernetesUser" || c.Key == "kubernetesGroup" {
				out[i] = append(out[i], c.Key)
			}
		}
	}
	return out
}

// noteIdentity explains what a selector on who asked does at the runtime,
// where nobody's identity is known and such a selector never matches.
func noteIdentity(rs spec.Response, r response, identity [][]string, p *Policy, notes *spec.List) {
	key := fmt.Sprintf("process.responses[%d]", rs.Index)
	for k, x := range r.exclude {
		if x >= len(identity) || len(identity[x]) == 0 || k >= len(rs.Exclude) || !(r.alert || r.block) {
			continue
		}
		pos := rs.Exclude[k].Pos
		what := "alerts on"
		if r.block {
			what = "blocks"
		}
		notes.Add(pos.Line, pos.Col, key+".exclude",
			fmt.Sprintf("selector %q exempts by %s, which only the admission webhook knows: at the container runtime it never matches, so there this response %s everyone's calls, the exempted users' included, and everything that bypassed the API server", p.selectors[x].name, strings.Join(identity[x], ", "), what),
			"the exemption holds at the API (execguard webhook); to let the exempted users' calls through at the runtime too, have the runtime alert only (docs/webhook.md)")
	}
	for k, m := range r.match {
		if m >= len(identity) || len(identity[m]) == 0 || k >= len(rs.Match) {
			continue
		}
		pos := rs.Match[k].Pos
		notes.Add(pos.Line, pos.Col, key+".match",
			fmt.Sprintf("selector %q conditions on %s, which only the admission webhook knows: at the container runtime it never matches, so this response applies through it at the API only", p.selectors[m].name, strings.Join(identity[m], ", ")),
			"calls that bypass the API server (crictl, ctr, podman on the node) are decided by the other responses")
	}
}

func in(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// noteAuthored warns about exemptions a pod's author can give themselves:
// a selector keyed on names, labels or images excluded from a response
// that alerts, blocks or records, or matched by a response that only logs
// (actions add up: such a response exempts nothing).
func noteAuthored(rs spec.Response, r response, authored [][]string, p *Policy, notes *spec.List) {
	key := fmt.Sprintf("process.responses[%d]", rs.Index)
	if r.alert || r.block || r.record {
		for k, x := range r.exclude {
			if x >= len(authored) || len(authored[x]) == 0 {
				continue
			}
			pos := rs.Exclude[k].Pos
			notes.Add(pos.Line, pos.Col, key+".exclude",
				fmt.Sprintf("selector %q exempts by %s, which a pod's author chooses: anyone who can create a pod can give it this exemption", p.selectors[x].name, strings.Join(authored[x], ", ")),
				"exempt by what a pod's author cannot choose: kubernetesNamespace (with RBAC on who may create pods there) or maintenanceWindow")
		}
		return
	}
	if !r.log {
		return
	}
	for k, m := range r.match {
		if m >= len(authored) || len(authored[m]) == 0 || k >= len(rs.Match) {
			continue
		}
		pos := rs.Match[k].Pos
		notes.Add(pos.Line, pos.Col, key+".match",
			fmt.Sprintf("selector %q, keyed on %s, only logs: this exempts nothing from other responses (actions add up), and an exemption keyed on it would be one a pod's author can give themselves", p.selectors[m].name, strings.Join(authored[m], ", ")),
			"")
	}
}

func checkName(name string) string {
	if len(name) > maxNameLen {
		return fmt.Sprintf("name of %d characters is longer than %d", len(name), maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || (c != '-' && c != '_')) {
			return fmt.Sprintf("invalid selector name %q", name)
		}
	}
	return ""
}

func resolve(names []spec.Value, key string, index map[string]int, errs *spec.List, used []bool) []int {
	out := make([]int, 0, len(names))
	for _, n := range names {
		i, ok := index[n.S]
		if !ok {
			known := make([]string, 0, len(index))
			for name := range index {
				known = append(known, name)
			}
			sort.Strings(known)
			hint := "define it under process.selectors"
			if sg := spec.Suggest(n.S, known); sg != "" {
				hint = fmt.Sprintf("did you mean %s?", sg)
			} else if len(known) > 0 && len(known) <= 10 {
				hint = "selectors defined: " + strings.Join(known, ", ")
			}
			errs.Add(n.Pos.Line, n.Pos.Col, key, fmt.Sprintf("unknown selector %q", n.S), hint)
			continue
		}
		used[i] = true
		out = append(out, i)
	}
	return out
}

// selectorKey names a selector in errors; built only when one is reported.
func selectorKey(index int) func() string {
	return func() string { return fmt.Sprintf("process.selectors[%d]", index) }
}

func compileCond(sel *selector, c spec.Cond, selIndex int, errs, notes *spec.List, p *Policy) {
	def, _ := condition(c.Key)
	key := func() string { return selectorKey(selIndex)() + "." + c.Key }
	bad := func(v spec.Value, msg, hint string) { errs.Add(v.Pos.Line, v.Pos.Col, key(), msg, hint) }
	ck := check{kind: def.kind}
	switch def.kind {
	case cOperation:
		sel.hasOps = true
		valid := true
		for _, v := range c.Values {
			switch v.S {
			case "exec":
				sel.ops |= opExec
			case "containerStart", "container-start":
				sel.ops |= opStart
			case "fork":
				// D4C's fork: execguard sees no forks, so it never matches.
			default:
				hint := "operations are exec, containerStart and fork (D4C's; never matches here)"
				if sg := spec.Suggest(v.S, []string{"exec", "containerStart", "fork"}); sg != "" {
					hint = fmt.Sprintf("did you mean %s?", sg)
				}
				bad(v, fmt.Sprintf("unknown operation %q", v.S), hint)
				valid = false
			}
		}
		if sel.ops == 0 && len(c.Values) > 0 && valid {
			notes.Add(c.Pos.Line, c.Pos.Col, key(), fmt.Sprintf("selector %q matches fork only, which execguard never sees: it never matches", sel.name), "add exec or containerStart")
		}
		return
	case cInteractive, cStdinShell:
		ck.flag = c.Flag
	case cStdin:
		for _, v := range c.Values {
			switch v.S {
			case "terminal", "attached", "none":
				ck.stdin = append(ck.stdin, detect.Stdin(v.S))
			case "unknown":
				ck.stdin = append(ck.stdin, detect.StdinUnknown)
			default:
				hint := "stdin is terminal, attached, none or unknown"
				if sg := spec.Suggest(v.S, []string{"terminal", "attached", "none", "unknown"}); sg != "" {
					hint = fmt.Sprintf("did you mean %s?", sg)
				}
				bad(v, fmt.Sprintf("unknown stdin %q", v.S), hint)
			}
		}
	case cUserID, cUserName:
		for _, v := range c.Values {
			if def.kind == cUserName && v.S == "root" {
				ck.ids = append(ck.ids, 0)
				continue
			}
			id, err := strconv.ParseUint(v.S, 10, 32)
			if err != nil {
				if def.kind == cUserName {
					bad(v, fmt.Sprintf("user name %q cannot be resolved", v.S),
						"the runtime layer sees numeric ids only (it does not read the container's /etc/passwd): use processUserId with the numeric id; root is the one name accepted")
				} else {
					bad(v, fmt.Sprintf("%q is not a numeric user id", v.S), "write the id, e.g. 0 or 1000; for root you may use processUserName: [root]")
				}
				continue
			}
			ck.ids = append(ck.ids, uint32(id))
		}
	case cPodLabel:
		for _, v := range c.Values {
			lp, msg, hint := compileLabel(v.S)
			if msg != "" {
				bad(v, msg, hint)
				continue
			}
			ck.labels = append(ck.labels, lp)
		}
	case cArgs:
		for _, v := range c.Values {
			ap, msg, hint := compileArgs(v.S)
			if msg != "" {
				bad(v, msg, hint)
				continue
			}
			ck.args = append(ck.args, ap)
		}
	case cDetectionRule:
		for _, v := range c.Values {
			if strings.TrimSpace(v.S) == "" {
				bad(v, "empty rule", "name a detection rule by its rule_id or its name, or * for any rule")
				continue
			}
			ck.rules = append(ck.rules, v.S)
		}
	case cWindow:
		for _, ws := range c.Windows {
			if w, ok := compileWindow(ws, key, errs); ok {
				ck.windows = append(ck.windows, w)
			}
		}
	default:
		ck.globs = make([]glob, 0, len(c.Values))
		for _, v := range c.Values {
			s := v.S
			if msg, hint := checkImageValue(def.kind, s); msg != "" {
				bad(v, msg, hint)
				continue
			}
			if def.kind == cImageFullName && !strings.Contains(s, "*") {
				s = normalizeRepository(s)
			}
			g, perr := compileGlob(s, def.glob)
			if perr != nil {
				bad(v, perr.msg, perr.hint)
				continue
			}
			// D4C compares processName with the kernel's comm, the first 15
			// bytes of the name: a 15-byte value also matches longer names.
			if def.kind == cProcessName && g.kind == globExact && len(g.lit) == 15 {
				g.kind = globPrefix
			}
			ck.globs = append(ck.globs, g)
		}
		if def.kind == cImageName || def.kind == cImageFullName || def.kind == cImageTag {
			p.usesImage = true
		}
	}
	sel.checks = append(sel.checks, ck)
}

func checkImageValue(kind condKind, s string) (msg, hint string) {
	switch kind {
	case cImageName:
		if strings.Contains(s, "/") {
			return fmt.Sprintf("image name %q contains a /", s), "containerImageName is the last part of the repository (nginx); match docker.io/library/nginx with containerImageFullName"
		}
		if strings.ContainsAny(s, ":@") {
			return fmt.Sprintf("image name %q contains a tag or digest", s), "match the tag with containerImageTag"
		}
	case cImageFullName:
		if strings.Contains(s, "@") || strings.Contains(s[strings.LastIndexByte(s, '/')+1:], ":") {
			return fmt.Sprintf("full image name %q contains a tag or digest", s), "containerImageFullName is registry and repository (docker.io/nginx); match the tag with containerImageTag"
		}
	}
	return "", ""
}

func compileLabel(s string) (labelPattern, string, string) {
	const hint = "write key:value, e.g. app:web, app:web-* or app:* for any value"
	key, value, ok := strings.Cut(s, ":")
	if !ok {
		if strings.Contains(s, "=") {
			return labelPattern{}, fmt.Sprintf("label %q uses =", s), hint
		}
		return labelPattern{}, fmt.Sprintf("label %q has no value", s), hint
	}
	if key == "" {
		return labelPattern{}, fmt.Sprintf("label %q has no key", s), hint
	}
	if strings.Contains(key, "*") {
		return labelPattern{}, fmt.Sprintf("label %q has a wildcard in its key", s), "wildcards are supported in the value only"
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c == '.' || c == '-' || c == '_' || c == '/' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return labelPattern{}, fmt.Sprintf("label key %q has the character %q", key, c), "label keys are [prefix/]name of letters, digits, '.', '-' and '_'"
		}
	}
	if strings.Count(key, "/") > 1 {
		return labelPattern{}, fmt.Sprintf("label key %q has more than one /", key), "label keys are [prefix/]name"
	}
	lp := labelPattern{key: key}
	if value == "" {
		lp.value = glob{kind: globExact}
		return lp, "", ""
	}
	g, perr := compileGlob(value, trailing)
	if perr != nil {
		return lp, fmt.Sprintf("label %q: %s", s, perr.msg), perr.hint
	}
	lp.value = g
	return lp, "", ""
}

func compileArgs(s string) (argsPattern, string, string) {
	words, quoted, err := splitWords(s)
	if err != "" {
		return argsPattern{}, fmt.Sprintf("processArgs %q: %s", s, err), "quote arguments with spaces as in a shell: sh -c \"echo hi\""
	}
	if len(words) == 0 {
		return argsPattern{}, "empty value", "write the command line to match, e.g. cat /var/log/*"
	}
	var ap argsPattern
	for i, w := range words {
		if w == "**" && !quoted[i] {
			if n := len(ap.words); n > 0 && ap.multi&(1<<(n-1)) != 0 {
				continue // ** ** is **
			}
			ap.multi |= 1 << len(ap.words)
			ap.words = append(ap.words, glob{})
		} else if w == "" {
			ap.words = append(ap.words, glob{kind: globExact})
		} else {
			g, perr := compileGlob(w, anyStar)
			if perr != nil {
				return ap, fmt.Sprintf("processArgs %q: argument %q: %s", s, w, perr.msg), perr.hint
			}
			ap.words = append(ap.words, g)
		}
		if len(ap.words) > maxArgWords {
			return ap, fmt.Sprintf("processArgs %q has more than %d words", s, maxArgWords), "match the start of the command and end with **"
		}
	}
	if len(s) > maxPattern {
		return ap, fmt.Sprintf("processArgs of %d bytes is longer than %d bytes", len(s), maxPattern), "match the start of the command and end with **"
	}
	return ap, "", ""
}

// SplitCommandLine splits a command line into arguments the way processArgs
// patterns are split: like a POSIX shell without expansions, blanks
// separate words, single and double quotes and backslashes protect.
func SplitCommandLine(s string) ([]string, error) {
	words, _, err := splitWords(s)
	if err != "" {
		return nil, fmt.Errorf("command line %q: %s", s, err)
	}
	return words, nil
}

func splitWords(s string) (words []string, quoted []bool, err string) {
	var cur strings.Builder
	inWord, wasQuoted := false, false
	end := func() {
		if inWord {
			words = append(words, cur.String())
			quoted = append(quoted, wasQuoted)
		}
		cur.Reset()
		inWord, wasQuoted = false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			end()
		case c == '\\':
			if i+1 == len(s) {
				return nil, nil, "ends with a backslash"
			}
			i++
			cur.WriteByte(s[i])
			inWord, wasQuoted = true, true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, nil, "unterminated single quote"
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord, wasQuoted = true, true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, nil, "unterminated double quote"
			}
			inWord, wasQuoted = true, true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	end()
	return words, quoted, ""
}
