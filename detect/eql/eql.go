// Package eql evaluates single-event Elastic EQL queries (`category where condition`) against
// ECS documents decoded from JSON, so that a detection rule's query can be checked against the
// events execguard writes, exactly as the rule is written.
//
// Supported: event categories and `any`; and, or, not, parentheses; ==, !=, <, <=, >, >=;
// `:` (case-insensitive, wildcards), like, like~, regex, regex~ (each with a single pattern or
// a list); in, in~, not in, not in~; `?field` optional fields; strings ("..." with \n \r \t \\
// \" \u{XXXX}, and """raw"""), numbers, true, false, null; dotted and `escaped` field names;
// // and /* */ comments; the functions startsWith, endsWith, stringContains, wildcard (each
// also in its case-insensitive ~ form), length and cidrMatch.
// Not supported, each refused with an error naming it: sequences, samples, joins, pipes, the
// other functions (add, between, concat, indexOf, substring, ...), math, field-to-field
// comparisons (Elasticsearch refuses those too).
//
// Matching follows Elasticsearch, which turns these queries into term, terms, wildcard,
// prefix and regexp queries on keyword fields:
//   - A field resolves to all its values: arrays (ECS multi-valued fields such as event.type)
//     are flattened and JSON nulls dropped. A comparison holds when any value satisfies it,
//     so a missing or null field satisfies no comparison except `== null`.
//   - `!=` and `not in` are the negation of `==` and `in` (Elasticsearch emits must_not), so
//     `missing != "x"` is true, `["a","x"] != "x"` is false, `missing != null` is false.
//   - `==`, `in` and ordering are type-aware: true equals JSON true, never the string "true";
//     numbers compare numerically (1 == 1.0); strings compare only with strings.
//   - `:`, like~, regex~, in~ and the ~ functions fold case; ==, like, regex, in and the plain
//     functions do not. `*` matches any run of characters, `?` exactly one; wildcards apply
//     only to `:`, like, like~ and wildcard(), and only to string values.
//   - regex and regex~ match the whole value (Lucene regular expressions are anchored).
//   - startsWith, endsWith, stringContains, wildcard and cidrMatch of a field and literals
//     become prefix, wildcard and term queries: any value of the field may match. length runs
//     as a script, which reads the first value of an array only.
//   - A function whose argument is null (a missing field) returns null; a condition on null
//     is false, and `not` of it true, as must_not makes it.
//   - The category must be one of event.category's values (case-sensitive); `any` matches
//     every document, including ones without event.category.
//   - Each dotted name is looked up both as nested objects and as flattened keys
//     (a key literally named "event.type"), including mixes of the two.
//
// Deviations from Elasticsearch, all because there is no index mapping here:
//   - `?field` and field behave alike: a field missing from the document is null. (In
//     Elasticsearch a field missing from the mapping is an error unless written `?field`.)
//   - Types come from the JSON value, not a mapping: a number is never equal to a string of
//     digits, where a keyword field holding "42" would be equal to 42.
//   - regex uses Go's RE2 engine, which runs in linear time. Patterns are checked against the
//     Lucene syntax first: Lucene's optional operators (# @ & ~ < >), quotes, ^ and $ (literal
//     characters in Lucene) and escapes other than \d \D \s \S \w \W and punctuation are
//     refused unescaped, so a pattern never means something else here than there.
//   - length counts UTF-16 code units, as Java's String.length does.
//   - cidrMatch keeps the two address families apart, as Go's net/netip does: an IPv4 block
//     holds IPv4 addresses (and IPv4-mapped ones, ::ffff:a.b.c.d), an IPv6 block IPv6 ones.
//
// Bounds: a query is at most MaxQueryBytes, nests at most MaxDepth levels, a list holds at
// most MaxListLen values and a pattern at most MaxPatternBytes bytes; beyond, Compile fails
// with a syntax error saying which bound.
package eql

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Bounds on what Compile accepts, so a pathological query cannot make compiling or matching
// slow. Real detection rules stay far below them.
const (
	MaxQueryBytes   = 64 << 10
	MaxDepth        = 64
	MaxListLen      = 4096
	MaxPatternBytes = 4096
)

// Query is a compiled single-event EQL query. It is immutable and safe for concurrent use.
type Query struct {
	src      string
	category string // empty for `any`
	// categoryField is event.category, the field the category is compared with.
	categoryField *field
	cond          node
	fields        []Field
}

// Field is a field a query reads.
type Field struct {
	Name     string // dotted
	Optional bool   // written ?field
}

// Compile parses query. Errors are *SyntaxError values giving the line, column and what
// was expected there.
func Compile(query string) (*Query, error) {
	toks, err := lex(query)
	if err != nil {
		// A sequence's "with maxspan=5s" does not lex as a condition: name
		// the kind of query, which is what the caller can act on.
		if e := unsupportedKind(query); e != nil {
			return nil, e
		}
		return nil, err
	}
	p := &parser{src: query, toks: toks}
	return p.parseQuery()
}

// Match reports whether doc (a JSON object decoded with encoding/json) satisfies the query.
// To match many queries against one document, Prepare it once and use MatchDocument.
func (q *Query) Match(doc map[string]any) bool { return q.MatchDocument(Prepare(doc)) }

// Document is a JSON object prepared for matching. It must not change once prepared.
type Document struct {
	m map[string]any
	// dotted is true when some key contains a dot: lookups then also try flattened keys.
	dotted bool
	// src answers lookups instead of m when the document was never decoded (FromSource).
	src Source
}

// Source gives a query a document's field values without the document being encoded and
// decoded: AppendValues appends the values at the dotted name split into path exactly as a
// JSON decoding of the document would give them to a field lookup: strings, float64 numbers
// and bools; arrays flattened; nulls, missing fields and objects giving nothing; each level
// also tried as flattened dotted keys (path[i:j] joined with dots) where keys may hold dots.
type Source interface {
	AppendValues(dst []any, path []string) []any
}

// FromSource readies src for MatchDocument.
func FromSource(src Source) *Document { return &Document{src: src} }

// Values returns the values of the dotted field name in doc, as a query's comparisons see
// them.
func (d *Document) Values(name string) []any {
	return newField(strings.Split(name, "."), false).values(nil, d)
}

// Prepare readies doc for MatchDocument.
func Prepare(doc map[string]any) *Document {
	return &Document{m: doc, dotted: hasDottedKey(doc, 0)}
}

func hasDottedKey(v any, depth int) bool {
	if depth > 64 {
		return true // too deep to check: be exact rather than fast
	}
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if strings.IndexByte(k, '.') >= 0 || hasDottedKey(c, depth+1) {
				return true
			}
		}
	case []any:
		for _, c := range x {
			if hasDottedKey(c, depth+1) {
				return true
			}
		}
	}
	return false
}

// MatchDocument reports whether doc satisfies the query.
func (q *Query) MatchDocument(doc *Document) bool {
	if q.category != "" && !q.inCategory(doc) {
		return false
	}
	return q.cond.eval(doc)
}

func (q *Query) inCategory(doc *Document) bool {
	var buf [4]any
	for _, v := range q.categoryField.values(buf[:0], doc) {
		if v == q.category {
			return true
		}
	}
	return false
}

// String returns the query's source text.
func (q *Query) String() string { return q.src }

// Category is the event category the query selects, "" for `any`.
func (q *Query) Category() string { return q.category }

// Fields lists the fields the query reads, in order of first use.
func (q *Query) Fields() []Field { return append([]Field(nil), q.fields...) }

type node interface {
	eval(doc *Document) bool
}

// expr is a value-producing operand: a field, a literal or a function call. It is a struct,
// not an interface, so that the value buffers of an evaluation stay on the stack.
type expr struct {
	field *field
	call  *call
	lit   any // when field and call are nil; nil is null
}

// valuesOf appends x's values (none for null) to buf.
func valuesOf(x expr, buf []any, doc *Document) []any {
	switch {
	case x.field != nil:
		return x.field.values(buf, doc)
	case x.call != nil:
		return x.call.appendValues(buf, doc)
	case x.lit != nil:
		return append(buf, x.lit)
	}
	return buf
}

type field struct {
	path     []string
	name     string // dotted form
	offs     []int  // offs[i]: where path[i] starts in name; offs[len(path)] is len(name)+1
	optional bool
}

func newField(path []string, optional bool) *field {
	f := &field{path: path, name: strings.Join(path, "."), optional: optional, offs: make([]int, len(path)+1)}
	for i := range path {
		f.offs[i+1] = f.offs[i] + len(path[i]) + 1
	}
	return f
}

// key is path[i:j] joined with dots, a flattened key: a slice of name.
func (f *field) key(i, j int) string { return f.name[f.offs[i] : f.offs[j]-1] }

// values appends the field's values in doc.
func (f *field) values(dst []any, doc *Document) []any {
	if doc.src != nil {
		return doc.src.AppendValues(dst, f.path)
	}
	return f.walk(dst, doc.m, 0, doc.dotted)
}

// walk appends every value at path[i:] in v, trying nested objects and flattened dotted
// keys at each level. Arrays are flattened (also arrays of objects on the way) and nulls
// dropped; an object is not a value.
func (f *field) walk(dst []any, v any, i int, dotted bool) []any {
	switch x := v.(type) {
	case nil:
	case []any:
		for _, e := range x {
			dst = f.walk(dst, e, i, dotted)
		}
	case []string:
		if i == len(f.path) {
			for _, e := range x {
				dst = append(dst, e)
			}
		}
	case map[string]any:
		if !dotted {
			if i < len(f.path) {
				if child, ok := x[f.path[i]]; ok {
					dst = f.walk(dst, child, i+1, false)
				}
			}
			break
		}
		for j := len(f.path); j > i; j-- {
			if child, ok := x[f.key(i, j)]; ok {
				dst = f.walk(dst, child, j, true)
			}
		}
	default:
		if i == len(f.path) {
			dst = append(dst, v)
		}
	}
	return dst
}

type andNode struct{ left, right node }
type orNode struct{ left, right node }
type notNode struct{ x node }
type constNode bool

func (n andNode) eval(doc *Document) bool   { return n.left.eval(doc) && n.right.eval(doc) }
func (n orNode) eval(doc *Document) bool    { return n.left.eval(doc) || n.right.eval(doc) }
func (n notNode) eval(doc *Document) bool   { return !n.x.eval(doc) }
func (n constNode) eval(doc *Document) bool { return bool(n) }

// equalNode is `x == value`; value nil is `== null`, true when x has no value.
type equalNode struct {
	x     expr
	value any
}

func (n equalNode) eval(doc *Document) bool {
	var buf [8]any
	vals := valuesOf(n.x, buf[:0], doc)
	if n.value == nil {
		return len(vals) == 0
	}
	for _, v := range vals {
		if equal(v, n.value, false) {
			return true
		}
	}
	return false
}

type inNode struct {
	x      expr
	values []any
	fold   bool // in~
}

func (n inNode) eval(doc *Document) bool {
	var buf [8]any
	vals := valuesOf(n.x, buf[:0], doc)
	for _, want := range n.values {
		if want == nil && len(vals) == 0 {
			return true
		}
		for _, v := range vals {
			if equal(v, want, n.fold) {
				return true
			}
		}
	}
	return false
}

type orderNode struct {
	x     expr
	op    string
	value any // string or float64
}

func (n orderNode) eval(doc *Document) bool {
	var buf [8]any
	for _, v := range valuesOf(n.x, buf[:0], doc) {
		c, ok := compare(v, n.value)
		if !ok {
			continue
		}
		var hold bool
		switch n.op {
		case "<":
			hold = c < 0
		case "<=":
			hold = c <= 0
		case ">":
			hold = c > 0
		default:
			hold = c >= 0
		}
		if hold {
			return true
		}
	}
	return false
}

// patternNode is `:`, like or like~ against one or more wildcard patterns.
type patternNode struct {
	x        expr
	patterns []string // already lower-cased when fold
	shapes   []wildShape
	fold     bool
}

// wildShape is a wildcard pattern recognised as a cheaper test.
type wildShape struct {
	kind uint8 // shapeGeneral, shapeExact, shapePrefix, shapeSuffix, shapeContains, shapeAny, shapeNonEmpty
	lit  string
}

const (
	shapeGeneral uint8 = iota
	shapeExact
	shapePrefix   // lit*
	shapeSuffix   // *lit
	shapeContains // *lit*
	shapeAny      // *
	shapeNonEmpty // ?*
)

func shapeOf(p string) wildShape {
	switch p {
	case "*", "**":
		return wildShape{kind: shapeAny}
	case "?*", "*?":
		return wildShape{kind: shapeNonEmpty}
	}
	inner := strings.Trim(p, "*")
	if strings.ContainsAny(inner, "*?") {
		return wildShape{kind: shapeGeneral}
	}
	lead, trail := strings.HasPrefix(p, "*"), strings.HasSuffix(p, "*")
	switch {
	case lead && trail:
		return wildShape{shapeContains, inner}
	case lead:
		return wildShape{shapeSuffix, inner}
	case trail:
		return wildShape{shapePrefix, inner}
	}
	return wildShape{shapeExact, inner}
}

func newPatternNode(x expr, patterns []string, fold bool) patternNode {
	shapes := make([]wildShape, len(patterns))
	for i, p := range patterns {
		if fold {
			patterns[i] = strings.ToLower(p)
		}
		shapes[i] = shapeOf(patterns[i])
	}
	return patternNode{x: x, patterns: patterns, shapes: shapes, fold: fold}
}

func (n patternNode) eval(doc *Document) bool {
	var buf [8]any
	for _, v := range valuesOf(n.x, buf[:0], doc) {
		if s, ok := v.(string); ok && n.matchString(s) {
			return true
		}
	}
	return false
}

func (n patternNode) matchString(s string) bool {
	if n.fold {
		s = strings.ToLower(s)
	}
	for i, sh := range n.shapes {
		var hit bool
		switch sh.kind {
		case shapeAny:
			hit = true
		case shapeNonEmpty:
			hit = s != ""
		case shapeExact:
			hit = s == sh.lit
		case shapePrefix:
			hit = strings.HasPrefix(s, sh.lit)
		case shapeSuffix:
			hit = strings.HasSuffix(s, sh.lit)
		case shapeContains:
			hit = strings.Contains(s, sh.lit)
		default:
			hit = wildcardMatch(n.patterns[i], s)
		}
		if hit {
			return true
		}
	}
	return false
}

// regexNode is regex or regex~ against one or more anchored regular expressions.
type regexNode struct {
	x   expr
	res []regexMatcher
}

// regexMatcher is a compiled regular expression, or, for .*literal.*, the literal to look
// for (lower-cased when fold).
type regexMatcher struct {
	re   *regexp.Regexp
	lit  string
	fold bool
}

func (m regexMatcher) match(s string) bool {
	if m.re != nil {
		return m.re.MatchString(s)
	}
	if m.fold {
		return containsFold(s, m.lit)
	}
	return strings.Contains(s, m.lit)
}

// containsFold reports whether lower-cased s contains lit (already lower-case).
func containsFold(s, lit string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || ('A' <= c && c <= 'Z') {
			return strings.Contains(strings.ToLower(s), lit)
		}
	}
	return strings.Contains(s, lit)
}

func (n regexNode) eval(doc *Document) bool {
	var buf [8]any
	for _, v := range valuesOf(n.x, buf[:0], doc) {
		s, ok := v.(string)
		if !ok {
			continue
		}
		for _, m := range n.res {
			if m.match(s) {
				return true
			}
		}
	}
	return false
}

// boolNode is a function call used as a condition: true when any of its results is true.
type boolNode struct{ x expr }

func (n boolNode) eval(doc *Document) bool {
	var buf [8]any
	for _, v := range valuesOf(n.x, buf[:0], doc) {
		if v == true {
			return true
		}
	}
	return false
}

type fnKind uint8

const (
	fnStartsWith fnKind = iota
	fnEndsWith
	fnStringContains
	fnWildcard
	fnLength
	fnCIDRMatch
)

// call is a function applied to each value of its source, with literal arguments.
type call struct {
	kind   fnKind
	fold   bool
	src    *field // or srcLit when nil
	srcLit any
	strs   []string // lower-cased when fold
	// argField is the substring when it is a field; nullArg when it is
	// null (the function is then null).
	argField *field
	nullArg  bool
	wild     patternNode
	prefixes []cidr
}

func (c *call) appendValues(dst []any, doc *Document) []any {
	var buf [8]any
	vals := buf[:0]
	switch {
	case c.src != nil:
		vals = c.src.values(vals, doc)
	case c.srcLit != nil:
		vals = append(vals, c.srcLit)
	}
	if c.kind == fnLength {
		// A script: Elasticsearch reads the first value of an array only.
		if len(vals) == 0 {
			return dst
		}
		s, ok := vals[0].(string)
		if !ok {
			return dst
		}
		return append(dst, float64(utf16Len(s)))
	}
	strs := c.strs
	switch {
	case c.nullArg:
		return dst // null substring: the function is null
	case c.argField != nil:
		var abuf [8]any
		strs = nil
		for _, a := range c.argField.values(abuf[:0], doc) {
			if s, ok := a.(string); ok {
				if c.fold {
					s = strings.ToLower(s)
				}
				strs = append(strs, s)
			}
		}
		if len(strs) == 0 {
			return dst // a missing substring field is null
		}
	}
	for _, v := range vals {
		if r, ok := c.apply(v, strs); ok {
			dst = append(dst, r)
		}
	}
	return dst
}

// apply evaluates the boolean functions on one value with the substrings
// strs; ok is false for null.
func (c *call) apply(v any, strs []string) (result, ok bool) {
	s, isStr := v.(string)
	if !isStr {
		return false, false
	}
	if c.kind == fnCIDRMatch {
		addr, _, ok := parseIP(s)
		if !ok {
			return false, true
		}
		for _, p := range c.prefixes {
			if p.contains(addr) {
				return true, true
			}
		}
		return false, true
	}
	if c.kind == fnWildcard {
		return c.wild.matchString(s), true
	}
	if c.fold {
		s = strings.ToLower(s)
	}
	for _, a := range strs {
		var hit bool
		switch c.kind {
		case fnStartsWith:
			hit = strings.HasPrefix(s, a)
		case fnEndsWith:
			hit = strings.HasSuffix(s, a)
		case fnStringContains:
			hit = strings.Contains(s, a)
		}
		if hit {
			return true, true
		}
	}
	return false, true
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 && r != utf8.RuneError {
			n++
		}
	}
	return n
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

// wildcardMatch reports whether s matches pattern p, where '*' matches any run of characters
// (including none) and '?' exactly one character. It runs in O(len(p)*len(s)) at worst.
func wildcardMatch(p, s string) bool {
	if !strings.ContainsAny(p, "*?") {
		return p == s
	}
	pi, si := 0, 0
	star, resume := -1, 0 // byte offset after the last '*' seen, and where in s it resumes
	for si < len(s) {
		if pi < len(p) && p[pi] == '*' {
			pi++
			star, resume = pi, si
			continue
		}
		if pi < len(p) {
			pr, pn := utf8.DecodeRuneInString(p[pi:])
			sr, sn := utf8.DecodeRuneInString(s[si:])
			if pr == '?' || pr == sr {
				pi += pn
				si += sn
				continue
			}
		}
		if star < 0 {
			return false
		}
		// Let the last '*' swallow one more character and retry from there.
		_, sn := utf8.DecodeRuneInString(s[resume:])
		resume += sn
		pi, si = star, resume
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
