// Package yamlspec reads a policy file's YAML into a spec, with the position
// of everything in it and every problem found. It is the one package that
// links the YAML parser; the runtime wrapper does not link it.
package yamlspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/execguard/execguard/detect/policy/internal/spec"
)

// reader walks the YAML node tree of a policy file into a spec, collecting
// every problem with its position.
type reader struct {
	errs       spec.List
	notes      spec.List
	conditions map[string]spec.Shape
	keys       []string
}

// Read reads a policy file into a spec. The spec is nil when the file is no
// YAML at all; otherwise it holds what could be read, and the errors what
// could not, so that compiling it reports the rest: one run, every problem.
func Read(file string, data []byte) (*spec.Spec, spec.Errors) {
	r := &reader{errs: spec.List{File: file}, notes: spec.List{File: file}, conditions: spec.Conditions()}
	for k := range r.conditions {
		r.keys = append(r.keys, k)
	}
	sort.Strings(r.keys)
	if len(data) > spec.MaxFileSize {
		r.errs.Add(0, 0, "", fmt.Sprintf("file of %d bytes is larger than %d bytes", len(data), spec.MaxFileSize), "a policy is a few KiB; is this the right file?")
		return nil, r.errs.Errs
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			r.errs.Add(0, 0, "", "the file is empty", "a policy needs a process: section with selectors and responses")
		} else {
			r.syntax(data, err)
		}
		return nil, r.errs.Errs
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		r.errs.Add(extra.Line, extra.Column, "", "the file holds more than one YAML document", "remove the --- separator and everything after it, or split the file")
	} else if !errors.Is(err, io.EOF) {
		r.syntax(data, err)
	}
	if len(r.errs.Errs) > 0 {
		return nil, r.errs.Errs
	}
	// The spec is returned with the errors: what could be read of it is
	// still compiled, so that one run reports every problem.
	s := r.top(&doc)
	s.Notes = r.notes.Errs
	return s, r.errs.Errs
}

// syntax reports a YAML syntax error. The parser gives its line only; the
// column is that of the line's first non-blank character.
func (r *reader) syntax(data []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if v, e := strconv.Atoi(n); e == nil {
				line, msg = v, after
			}
		}
	}
	col := 0
	hint := "check the indentation and the brackets and quotes around this line"
	if line > 0 {
		col = 1
		lines := bytes.Split(data, []byte("\n"))
		if line <= len(lines) {
			text := lines[line-1]
			col = len(text) - len(bytes.TrimLeft(text, " ")) + 1
			if i := bytes.IndexByte(text, '\t'); i >= 0 {
				col = i + 1
				hint = "YAML does not allow tabs for indentation; use spaces"
			}
		}
	}
	r.errs.Add(line, col, "", "invalid YAML: "+msg, hint)
}

func (r *reader) fail(n *yaml.Node, key, msg, hint string) {
	r.errs.Add(n.Line, n.Column, key, msg, hint)
}

func (r *reader) note(n *yaml.Node, key, msg, hint string) {
	r.notes.Add(n.Line, n.Column, key, msg, hint)
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing (null)"
		case "!!bool":
			return "a boolean"
		case "!!int":
			return "a number"
		case "!!float":
			return "a number"
		}
		return fmt.Sprintf("the string %q", clip(n.Value))
	}
	return "something else"
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// entries checks that n is a mapping of unique keys and returns its pairs.
func (r *reader) entries(n *yaml.Node, key string) [][2]*yaml.Node {
	if !r.kind(n, yaml.MappingNode, key, "") {
		return nil
	}
	seen := make(map[string]bool, len(n.Content)/2)
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			r.fail(k, key, "a key must be a plain word, not "+describe(k), "")
			continue
		}
		if seen[k.Value] {
			r.fail(k, join(key, k.Value), "duplicate key", "a key may appear once in a mapping; merge the values into one list")
			continue
		}
		seen[k.Value] = true
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

// kind checks a node's kind, reporting an alias as such.
func (r *reader) kind(n *yaml.Node, want yaml.Kind, key, hint string) bool {
	if n.Kind == yaml.AliasNode {
		r.fail(n, key, "anchors and aliases are not supported", "write the values out in full")
		return false
	}
	if n.Kind == want {
		return true
	}
	wants := map[yaml.Kind]string{yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list", yaml.ScalarNode: "a single value"}[want]
	r.fail(n, key, fmt.Sprintf("want %s, got %s", wants, describe(n)), hint)
	return false
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func (r *reader) top(doc *yaml.Node) *spec.Spec {
	s := &spec.Spec{}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		r.errs.Add(0, 0, "", "the file is empty", "a policy needs a process: section with selectors and responses")
		return s
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		r.fail(root, "", "the file is empty", "a policy needs a process: section with selectors and responses")
		return s
	}
	var process *yaml.Node
	for _, kv := range r.entries(root, "") {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "process":
			process = v
		case "file":
			r.note(k, "file", "file selectors and responses are not enforced by execguard and are ignored", "execguard sees process starts only")
		case "version":
			r.kind(v, yaml.ScalarNode, "version", "")
		default:
			hint := "a policy has process: (and, ignored here, file:)"
			if sg := spec.Suggest(k.Value, []string{"process", "file", "version"}); sg != "" {
				hint = fmt.Sprintf("did you mean %s?", sg)
			}
			r.fail(k, k.Value, "unknown key", hint)
		}
	}
	if len(r.errs.Errs) > 0 {
		return s
	}
	if process == nil {
		r.fail(root, "process", "no process section", "execguard enforces process selectors and responses; add process: with selectors: and responses:")
		return s
	}
	var selectors, responses *yaml.Node
	for _, kv := range r.entries(process, "process") {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "selectors":
			selectors = v
		case "responses":
			responses = v
		default:
			hint := "process: holds selectors: and responses:"
			if sg := spec.Suggest(k.Value, []string{"selectors", "responses"}); sg != "" {
				hint = fmt.Sprintf("did you mean %s?", sg)
			}
			r.fail(k, "process."+k.Value, "unknown key", hint)
		}
	}
	if process.Kind == yaml.MappingNode {
		if selectors == nil {
			r.fail(process, "process.selectors", "missing", "add selectors: with at least one selector")
		}
		if responses == nil {
			r.fail(process, "process.responses", "missing", "add responses: with at least one response")
		}
	}
	if selectors != nil && r.kind(selectors, yaml.SequenceNode, "process.selectors", "selectors: is a list of mappings, each starting with - name: ...") {
		if len(selectors.Content) == 0 {
			r.fail(selectors, "process.selectors", "no selectors", "add at least one selector")
		}
		for i, n := range selectors.Content {
			s.Selectors = append(s.Selectors, r.selector(n, i))
		}
	}
	if responses != nil && r.kind(responses, yaml.SequenceNode, "process.responses", "responses: is a list of mappings, each with match: and actions:") {
		if len(responses.Content) == 0 {
			r.fail(responses, "process.responses", "no responses", "add at least one response")
		}
		for i, n := range responses.Content {
			s.Responses = append(s.Responses, r.response(n, i))
		}
	}
	return s
}

func (r *reader) selector(n *yaml.Node, index int) spec.Selector {
	key := fmt.Sprintf("process.selectors[%d]", index)
	sel := spec.Selector{Index: index, Pos: spec.Pos{Line: n.Line, Col: n.Column}}
	named := false
	for _, kv := range r.entries(n, key) {
		k, v := kv[0], kv[1]
		ckey := join(key, k.Value)
		if k.Value == "name" {
			named = true
			if r.kind(v, yaml.ScalarNode, ckey, "") {
				if v.ShortTag() == "!!null" || v.Value == "" {
					r.fail(v, ckey, "empty name", "name the selector, e.g. name: interactive")
				} else {
					sel.Name = v.Value
				}
			}
			continue
		}
		shape, ok := r.conditions[k.Value]
		if !ok {
			hint := "known conditions: " + strings.Join(r.keys, ", ")
			if why, d4c := spec.UnsupportedD4C(k.Value); d4c {
				hint = why
			} else if sg := spec.Suggest(k.Value, append(r.keys, "name")); sg != "" {
				hint = fmt.Sprintf("did you mean %s?", sg)
			}
			r.fail(k, ckey, "unknown selector condition", hint)
			sel.Conds = append(sel.Conds, spec.Cond{Key: k.Value, Bad: true})
			continue
		}
		c := spec.Cond{Key: k.Value, Pos: spec.Pos{Line: k.Line, Col: k.Column}}
		before := len(r.errs.Errs)
		switch shape {
		case spec.Boolean:
			if r.kind(v, yaml.ScalarNode, ckey, "") {
				if v.ShortTag() != "!!bool" {
					r.fail(v, ckey, "want true or false, got "+describe(v), "write true or false without quotes")
				}
				c.Flag = v.Value == "true"
			}
		case spec.Windows:
			c.Windows = r.windows(v, ckey)
		default:
			c.Values = r.values(v, ckey)
		}
		c.Bad = len(r.errs.Errs) > before
		sel.Conds = append(sel.Conds, c)
	}
	if n.Kind == yaml.MappingNode && !named {
		r.fail(n, key+".name", "missing", "every selector needs a name, used by responses")
	}
	return sel
}

// values reads a list of scalars. Numbers and dates are taken as their text
// (a namespace or a tag may look like one); booleans and nulls are mistakes.
func (r *reader) values(n *yaml.Node, key string) []spec.Value {
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		r.fail(n, key, "want a list, got "+describe(n), fmt.Sprintf("write [%s]", n.Value))
		return nil
	}
	if !r.kind(n, yaml.SequenceNode, key, "write a list: [a, b]") {
		return nil
	}
	if len(n.Content) == 0 {
		r.fail(n, key, "empty list", "give at least one value, or remove the condition")
		return nil
	}
	out := make([]spec.Value, 0, len(n.Content))
	for _, v := range n.Content {
		if !r.kind(v, yaml.ScalarNode, key, "each value is a single string") {
			continue
		}
		if tag := v.ShortTag(); tag == "!!bool" || tag == "!!null" {
			r.fail(v, key, "want a string, got "+describe(v), "quote the value if it is meant as text")
			continue
		}
		out = append(out, spec.Value{S: v.Value, Pos: spec.Pos{Line: v.Line, Col: v.Column}})
	}
	return out
}

func (r *reader) windows(n *yaml.Node, key string) []spec.Window {
	var items []*yaml.Node
	switch n.Kind {
	case yaml.MappingNode:
		items = []*yaml.Node{n}
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			r.fail(n, key, "empty list", "give at least one window, or remove the condition")
		}
		items = n.Content
	default:
		r.kind(n, yaml.MappingNode, key, `e.g. {days: [sat, sun], hours: "02:00-04:00", timezone: Europe/Berlin}`)
		return nil
	}
	var out []spec.Window
	for i, it := range items {
		wkey := key
		if n.Kind == yaml.SequenceNode {
			wkey = fmt.Sprintf("%s[%d]", key, i)
		}
		w := spec.Window{Pos: spec.Pos{Line: it.Line, Col: it.Column}}
		for _, kv := range r.entries(it, wkey) {
			k, v := kv[0], kv[1]
			ckey := join(wkey, k.Value)
			switch k.Value {
			case "days":
				w.DaysPos = spec.Pos{Line: v.Line, Col: v.Column}
				for _, d := range r.values(v, ckey) {
					w.Days = append(w.Days, d.S)
				}
			case "hours":
				w.HoursPos = spec.Pos{Line: v.Line, Col: v.Column}
				if r.kind(v, yaml.ScalarNode, ckey, `e.g. "02:00-04:00"`) {
					w.Hours = v.Value
				}
			case "timezone":
				w.ZonePos = spec.Pos{Line: v.Line, Col: v.Column}
				if r.kind(v, yaml.ScalarNode, ckey, "e.g. Europe/Berlin") {
					w.Timezone = v.Value
				}
			default:
				hint := "a window has days, hours and timezone"
				if sg := spec.Suggest(k.Value, []string{"days", "hours", "timezone"}); sg != "" {
					hint = fmt.Sprintf("did you mean %s?", sg)
				}
				r.fail(k, ckey, "unknown key", hint)
			}
		}
		out = append(out, w)
	}
	return out
}

func (r *reader) response(n *yaml.Node, index int) spec.Response {
	key := fmt.Sprintf("process.responses[%d]", index)
	resp := spec.Response{Index: index, Pos: spec.Pos{Line: n.Line, Col: n.Column}}
	hasMatch, hasActions := false, false
	for _, kv := range r.entries(n, key) {
		k, v := kv[0], kv[1]
		ckey := join(key, k.Value)
		switch k.Value {
		case "match":
			hasMatch = true
			resp.MatchPos = spec.Pos{Line: k.Line, Col: k.Column}
			resp.Match = r.values(v, ckey)
		case "exclude":
			if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				continue // exclude: [] is allowed, as in D4C
			}
			resp.Exclude = r.values(v, ckey)
		case "actions":
			hasActions = true
			resp.ActionsPos = spec.Pos{Line: k.Line, Col: k.Column}
			resp.Actions = r.values(v, ckey)
		default:
			hint := "a response has match:, exclude: and actions:"
			if sg := spec.Suggest(k.Value, []string{"match", "exclude", "actions"}); sg != "" {
				hint = fmt.Sprintf("did you mean %s?", sg)
			}
			r.fail(k, ckey, "unknown key", hint)
		}
	}
	if n.Kind == yaml.MappingNode {
		if !hasMatch {
			r.fail(n, key+".match", "missing", "name the selectors this response applies to: match: [name]")
		}
		if !hasActions {
			r.fail(n, key+".actions", "missing", "say what to do: actions: [log], [alert] or [alert, block]")
		}
	}
	return resp
}
