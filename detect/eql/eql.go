// Package eql evaluates single-event Elastic EQL queries (`category where condition`) against
// ECS documents decoded from JSON, so that a detection rule's query can be checked against the
// events execguard writes, exactly as the rule is written.
//
// Supported: event categories and `any`; and, or, not, parentheses; ==, !=, <, <=, >, >=;
// `:` (case-insensitive, wildcards), like, like~ (each with a single pattern or a list);
// in, in~, not in, not in~; strings ("..." with \n \r \t \\ \" \u{XXXX}, and """raw"""),
// numbers, true, false, null; dotted and `escaped` field names; // and /* */ comments.
// Not supported: sequences, joins, pipes, functions, regex, math, optional (?) fields.
//
// Matching follows Elasticsearch, which turns these queries into term, terms and wildcard
// queries on keyword fields:
//   - A field resolves to all its values: arrays (ECS multi-valued fields such as event.type)
//     are flattened and JSON nulls dropped. A comparison holds when any value satisfies it,
//     so a missing or null field satisfies no comparison except `== null`.
//   - `!=` and `not in` are the negation of `==` and `in` (Elasticsearch emits must_not), so
//     `missing != "x"` is true, `["a","x"] != "x"` is false, `missing != null` is false.
//   - `==`, `in` and ordering are type-aware: true equals JSON true, never the string "true";
//     numbers compare numerically (1 == 1.0); strings compare only with strings.
//   - `:`, like~ and in~ fold case; ==, like and in do not. `*` matches any run of characters,
//     `?` exactly one; wildcards apply only to `:`, like and like~, and only to string values.
//   - The category must be one of event.category's values (case-sensitive); `any` matches
//     every document, including ones without event.category.
//   - Each dotted name is looked up both as nested objects and as flattened keys
//     (a key literally named "event.type"), including mixes of the two.
package eql

import (
	"encoding/json"
	"strings"
)

// Query is a compiled single-event EQL query. It is immutable and safe for concurrent use.
type Query struct {
	src      string
	category string // empty for `any`
	cond     node
}

// Compile parses query. Errors are *SyntaxError values giving the line, column and what
// was expected there.
func Compile(query string) (*Query, error) {
	toks, err := lex(query)
	if err != nil {
		return nil, err
	}
	p := &parser{src: query, toks: toks}
	return p.parseQuery()
}

// Match reports whether doc (a JSON object decoded with encoding/json) satisfies the query.
func (q *Query) Match(doc map[string]any) bool {
	if q.category != "" && !anyValue(lookup(doc, []string{"event", "category"}), func(v any) bool {
		return v == q.category
	}) {
		return false
	}
	return q.cond.eval(doc)
}

// String returns the query's source text.
func (q *Query) String() string { return q.src }

type node interface {
	eval(doc map[string]any) bool
}

type field struct {
	path []string
	name string // dotted form, for messages
}

func (f field) values(doc map[string]any) []any { return lookup(doc, f.path) }

type andNode struct{ left, right node }
type orNode struct{ left, right node }
type notNode struct{ x node }
type constNode bool

func (n andNode) eval(doc map[string]any) bool   { return n.left.eval(doc) && n.right.eval(doc) }
func (n orNode) eval(doc map[string]any) bool    { return n.left.eval(doc) || n.right.eval(doc) }
func (n notNode) eval(doc map[string]any) bool   { return !n.x.eval(doc) }
func (n constNode) eval(doc map[string]any) bool { return bool(n) }

// equalNode is `field == value`; value nil is `== null`, true when the field has no value.
type equalNode struct {
	field field
	value any
}

func (n equalNode) eval(doc map[string]any) bool {
	vals := n.field.values(doc)
	if n.value == nil {
		return len(vals) == 0
	}
	return anyValue(vals, func(v any) bool { return equal(v, n.value, false) })
}

type inNode struct {
	field  field
	values []any
	fold   bool // in~
}

func (n inNode) eval(doc map[string]any) bool {
	vals := n.field.values(doc)
	for _, want := range n.values {
		if want == nil && len(vals) == 0 {
			return true
		}
		if anyValue(vals, func(v any) bool { return equal(v, want, n.fold) }) {
			return true
		}
	}
	return false
}

type orderNode struct {
	field field
	op    string
	value any // string or float64
}

func (n orderNode) eval(doc map[string]any) bool {
	return anyValue(n.field.values(doc), func(v any) bool {
		c, ok := compare(v, n.value)
		if !ok {
			return false
		}
		switch n.op {
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		default:
			return c >= 0
		}
	})
}

// patternNode is `:`, like or like~ against one or more wildcard patterns.
type patternNode struct {
	field    field
	patterns []string // already lower-cased when fold
	fold     bool
}

func newPatternNode(f field, patterns []string, fold bool) patternNode {
	if fold {
		for i, p := range patterns {
			patterns[i] = strings.ToLower(p)
		}
	}
	return patternNode{field: f, patterns: patterns, fold: fold}
}

func (n patternNode) eval(doc map[string]any) bool {
	return anyValue(n.field.values(doc), func(v any) bool {
		s, ok := v.(string)
		if !ok {
			return false
		}
		if n.fold {
			s = strings.ToLower(s)
		}
		for _, p := range n.patterns {
			if wildcardMatch(p, s) {
				return true
			}
		}
		return false
	})
}

func anyValue(vals []any, pred func(any) bool) bool {
	for _, v := range vals {
		if pred(v) {
			return true
		}
	}
	return false
}

// equal compares a document value with a literal (string, float64 or bool) without coercion.
func equal(v, lit any, fold bool) bool {
	switch l := lit.(type) {
	case string:
		s, ok := v.(string)
		if fold {
			return ok && strings.EqualFold(s, l)
		}
		return ok && s == l
	case float64:
		f, ok := toFloat(v)
		return ok && f == l
	case bool:
		b, ok := v.(bool)
		return ok && b == l
	}
	return false
}

// compare orders a document value against a string or number literal; ok is false when the
// types differ.
func compare(v, lit any) (c int, ok bool) {
	switch l := lit.(type) {
	case string:
		s, ok := v.(string)
		return strings.Compare(s, l), ok
	case float64:
		f, ok := toFloat(v)
		switch {
		case !ok:
			return 0, false
		case f < l:
			return -1, true
		case f > l:
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number: // documents decoded with UseNumber
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// lookup returns every value at path in v, trying nested objects and flattened dotted keys at
// each level. Arrays are flattened (also arrays of objects on the way) and nulls dropped.
func lookup(v any, path []string) []any {
	var out []any
	var walk func(v any, path []string)
	walk = func(v any, path []string) {
		switch x := v.(type) {
		case nil:
		case []any:
			for _, e := range x {
				walk(e, path)
			}
		case []string:
			for _, e := range x {
				walk(e, path)
			}
		case map[string]any:
			for i := len(path); i >= 1; i-- {
				if child, ok := x[strings.Join(path[:i], ".")]; ok {
					walk(child, path[i:])
				}
			}
		default:
			if len(path) == 0 {
				out = append(out, v)
			}
		}
	}
	walk(v, path)
	return out
}

// wildcardMatch reports whether s matches pattern p, where '*' matches any run of characters
// (including none) and '?' exactly one character.
func wildcardMatch(p, s string) bool {
	pr, sr := []rune(p), []rune(s)
	pi, si := 0, 0
	star, resume := -1, 0 // last '*' seen and the position in s it is currently standing for
	for si < len(sr) {
		switch {
		case pi < len(pr) && pr[pi] == '*':
			star, resume = pi, si
			pi++
		case pi < len(pr) && (pr[pi] == '?' || pr[pi] == sr[si]):
			pi++
			si++
		case star >= 0:
			// Let the last '*' swallow one more character and retry from there.
			resume++
			pi, si = star+1, resume
		default:
			return false
		}
	}
	for pi < len(pr) && pr[pi] == '*' {
		pi++
	}
	return pi == len(pr)
}
