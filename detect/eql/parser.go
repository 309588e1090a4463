package eql

import (
	"fmt"
	"strings"
)

// Grammar (the single-event subset of Elasticsearch EQL):
//
//	query      = category "where" or EOF
//	category   = "any" | word | `escaped` | string
//	or         = and { "or" and }
//	and        = not { "and" not }
//	not        = "not" not | primary
//	primary    = "(" or ")" | "true" | "false" | operand [test]   (no test: a boolean function)
//	operand    = ["?"] field | function "(" arg { "," arg } ")"
//	arg        = operand | value
//	test       = ("==" | "!=" | "<" | "<=" | ">" | ">=") value
//	           | (":" | "like" | "like~" | "regex" | "regex~") patterns
//	           | ["not"] ("in" | "in~") "(" value { "," value } ")"
//	patterns   = string | "(" string { "," string } ")"
//	value      = string | ["-"] number | "true" | "false" | "null"

// isKeyword reports words that cannot start a field name; after a '.' any word is a field segment.
func isKeyword(w string) bool {
	switch w {
	case "and", "or", "not", "where", "any", "true", "false", "null",
		"in", "in~", "like", "like~", "regex", "regex~",
		"sequence", "join", "until", "by", "with", "of":
		return true
	}
	return false
}

type parser struct {
	src    string
	toks   []token
	i      int
	depth  int
	fields []Field
	seen   map[string]bool
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) atWord(w string) bool {
	t := p.peek()
	return t.kind == tokWord && t.text == w
}

func (p *parser) atPunct(s string) bool {
	t := p.peek()
	return t.kind == tokPunct && t.text == s
}

func (p *parser) failAt(t token, format string, args ...any) error {
	return syntaxErrorAt(p.src, t.pos, format, args...)
}

// unsupportedAt reports valid EQL that this evaluator does not run.
func (p *parser) unsupportedAt(t token, format string, args ...any) error {
	e := syntaxErrorAt(p.src, t.pos, format, args...)
	e.Unsupported = true
	return e
}

// multiEvent reports the words that start a query over several events.
func multiEvent(w string) bool { return w == "sequence" || w == "join" || w == "sample" }

func unsupportedKindAt(src string, pos int, kind string) *SyntaxError {
	e := syntaxErrorAt(src, pos, "%s queries are not supported, only single-event queries (category where condition)", kind)
	e.Unsupported = true
	return e
}

// unsupportedKind is the error for a query that starts with sequence, join
// or sample, read without the lexer, or nil.
func unsupportedKind(src string) *SyntaxError {
	i, err := skipSpaceAndComments(src, 0)
	if err != nil {
		return nil
	}
	j := i
	for j < len(src) && src[j] >= 'a' && src[j] <= 'z' {
		j++
	}
	if j < len(src) && !strings.ContainsRune(" \t\r\n/[", rune(src[j])) {
		return nil
	}
	if w := src[i:j]; multiEvent(w) {
		return unsupportedKindAt(src, i, w)
	}
	return nil
}

// expected reports that the next token is not what the grammar needs here.
func (p *parser) expected(what string) error {
	t := p.peek()
	return p.failAt(t, "expected %s, found %s", what, describe(t))
}

func describe(t token) string {
	if t.kind == tokEOF {
		return "end of query"
	}
	return fmt.Sprintf("'%s'", t.text)
}

func (p *parser) expectPunct(s string) error {
	if !p.atPunct(s) {
		return p.expected(fmt.Sprintf("'%s'", s))
	}
	p.next()
	return nil
}

func (p *parser) parseQuery() (*Query, error) {
	q := &Query{src: p.src, categoryField: newField([]string{"event", "category"}, false)}
	t := p.peek()
	switch {
	case t.kind == tokWord && t.text == "any":
	case t.kind == tokWord && multiEvent(t.text):
		return nil, unsupportedKindAt(p.src, t.pos, t.text)
	case t.kind == tokWord && !isKeyword(t.text):
		q.category = t.text
	case t.kind == tokEscaped || t.kind == tokString:
		q.category = t.val
	default:
		return nil, p.expected("an event category or 'any'")
	}
	p.next()
	if !p.atWord("where") {
		return nil, p.expected("'where' after the event category")
	}
	p.next()
	cond, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.atPunct("|") {
		return nil, p.unsupportedAt(p.peek(), "pipes (| head, | tail, | filter, ...) are not supported, only a single-event condition")
	}
	if p.peek().kind != tokEOF {
		return nil, p.expected("'and', 'or' or end of query")
	}
	q.cond = cond
	q.fields = p.fields
	return q, nil
}

// enter counts one level of nesting and refuses queries nested deeper than MaxDepth.
func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.failAt(p.peek(), "query nested more than %d levels deep", MaxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) parseOr() (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	left, err := p.parseAnd()
	for err == nil && p.atWord("or") {
		p.next()
		var right node
		if right, err = p.parseAnd(); err == nil {
			left = orNode{left, right}
		}
	}
	return left, err
}

func (p *parser) parseAnd() (node, error) {
	left, err := p.parseNot()
	for err == nil && p.atWord("and") {
		p.next()
		var right node
		if right, err = p.parseNot(); err == nil {
			left = andNode{left, right}
		}
	}
	return left, err
}

func (p *parser) parseNot() (node, error) {
	if !p.atWord("not") {
		return p.parsePrimary()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.next()
	x, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	return notNode{x}, nil
}

func (p *parser) parsePrimary() (node, error) {
	t := p.peek()
	switch {
	case p.atPunct("("):
		p.next()
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return x, nil
	case p.atWord("true"), p.atWord("false"):
		p.next()
		return constNode(t.text == "true"), nil
	case p.isOperandStart():
		x, desc, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		if x.call != nil && !p.atTest() {
			if x.call.kind == fnLength {
				return nil, p.expected("a comparison after length(...), e.g. length(process.name) > 3")
			}
			return boolNode{x}, nil
		}
		return p.parseTest(x, desc)
	default:
		return nil, p.expected("a condition (a field comparison, a function, 'not', '(' or true/false)")
	}
}

func (p *parser) isOperandStart() bool {
	t := p.peek()
	return t.kind == tokEscaped || (t.kind == tokWord && !isKeyword(t.text)) || (t.kind == tokPunct && t.text == "?")
}

// atTest reports whether an operator follows.
func (p *parser) atTest() bool {
	t := p.peek()
	switch {
	case t.kind == tokPunct:
		switch t.text {
		case "==", "!=", "<", "<=", ">", ">=", ":":
			return true
		}
	case t.kind == tokWord:
		switch t.text {
		case "like", "like~", "regex", "regex~", "in", "in~", "not":
			return true
		}
	}
	return false
}

// parseOperand reads a field or a function call; desc names it in messages.
func (p *parser) parseOperand() (expr, string, error) {
	optional := false
	if p.atPunct("?") {
		p.next()
		optional = true
		if t := p.peek(); t.kind != tokEscaped && (t.kind != tokWord || isKeyword(t.text)) {
			return expr{}, "", p.expected("a field name after '?'")
		}
	}
	start := p.peek()
	if !optional && start.kind == tokWord && p.toks[p.i+1].kind == tokPunct && p.toks[p.i+1].text == "(" {
		c, err := p.parseCall()
		if err != nil {
			return expr{}, "", err
		}
		return expr{call: c}, strings.TrimSuffix(start.text, "~") + "(...)", nil
	}
	if start.kind == tokWord && strings.HasSuffix(start.text, "~") {
		return expr{}, "", p.failAt(start, "'~' after field %s: only operators and functions have a case-insensitive ~ form", strings.TrimSuffix(start.text, "~"))
	}
	path := []string{fieldSegment(p.next())}
	for p.atPunct(".") {
		p.next()
		t := p.peek()
		if t.kind != tokWord && t.kind != tokEscaped {
			return expr{}, "", p.expected("a field name after '.'")
		}
		if t.kind == tokWord && strings.HasSuffix(t.text, "~") {
			return expr{}, "", p.failAt(t, "'~' after field %s.%s: only operators and functions have a case-insensitive ~ form", strings.Join(path, "."), strings.TrimSuffix(t.text, "~"))
		}
		path = append(path, fieldSegment(p.next()))
	}
	f := newField(path, optional)
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if !p.seen[f.name] {
		p.seen[f.name] = true
		p.fields = append(p.fields, Field{Name: f.name, Optional: optional})
	}
	return expr{field: f}, "field " + f.name, nil
}

func fieldSegment(t token) string {
	if t.kind == tokEscaped {
		return t.val
	}
	return t.text
}

// unsupportedFunction reports Elasticsearch EQL functions this evaluator refuses by name.
func unsupportedFunction(name string) bool {
	switch name {
	case "add", "between", "concat", "divide", "indexOf", "match", "modulo", "multiply", "number", "string", "substring", "subtract":
		return true
	}
	return false
}

func (p *parser) parseCall() (*call, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	nameTok := p.next()
	name := strings.TrimSuffix(nameTok.text, "~")
	fold := name != nameTok.text
	c := &call{fold: fold}
	switch name {
	case "startsWith":
		c.kind = fnStartsWith
	case "endsWith":
		c.kind = fnEndsWith
	case "stringContains":
		c.kind = fnStringContains
	case "wildcard":
		c.kind = fnWildcard
	case "length":
		c.kind = fnLength
	case "cidrMatch":
		c.kind = fnCIDRMatch
	default:
		if unsupportedFunction(name) {
			return nil, p.unsupportedAt(nameTok, "function %s is not supported by this evaluator (supported: startsWith, endsWith, stringContains, wildcard, length, cidrMatch)", name)
		}
		return nil, p.failAt(nameTok, "unknown function %s (supported: startsWith, endsWith, stringContains, wildcard, length, cidrMatch)", name)
	}
	if fold && (c.kind == fnLength || c.kind == fnCIDRMatch) {
		return nil, p.failAt(nameTok, "function %s has no case-insensitive ~ form", name)
	}
	p.next() // (
	// The first argument is the source: a field, a string or null.
	if p.isOperandStart() {
		t := p.peek()
		x, _, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		if x.call != nil {
			return nil, p.failAt(t, "%s: a function as argument is not supported, only a field or a literal", name)
		}
		c.src = x.field
	} else {
		t := p.peek()
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		if _, isStr := v.(string); v != nil && !isStr {
			// Elasticsearch's verifier refuses these: the source of a
			// string function is a string.
			return nil, p.failAt(t, "%s: argument 1 must be a string, a field or null, found %s", name, describe(t))
		}
		c.srcLit = v
	}
	// The substring of startsWith, endsWith and stringContains may also be
	// a field or null (Elasticsearch's function reference); the others take
	// strings only.
	substring := c.kind == fnStartsWith || c.kind == fnEndsWith || c.kind == fnStringContains
	var args []token
	n := 0 // arguments after the source, of any kind
	for p.atPunct(",") {
		p.next()
		n++
		t := p.peek()
		switch {
		case substring && p.isOperandStart():
			x, _, err := p.parseOperand()
			if err != nil {
				return nil, err
			}
			if x.call != nil {
				return nil, p.failAt(t, "%s: a function as argument %d is not supported, only a field or a literal", name, n+1)
			}
			c.argField = x.field
			continue
		case substring && t.kind == tokWord && t.text == "null":
			p.next()
			c.nullArg = true
			continue
		case p.isOperandStart():
			return nil, p.failAt(t, "%s: a field or function as argument %d is not supported, only literal values", name, n+1)
		case t.kind != tokString:
			return nil, p.failAt(t, "%s: argument %d must be a string, found %s", name, n+1, describe(t))
		}
		p.next()
		args = append(args, t)
		if len(args) > MaxListLen {
			return nil, p.failAt(t, "%s has more than %d arguments", name, MaxListLen)
		}
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	want := "at least 2 arguments"
	switch {
	case c.kind == fnLength && n != 0:
		return nil, p.failAt(args[0], "length takes 1 argument")
	case c.kind == fnLength:
	case n == 0:
		return nil, p.failAt(nameTok, "%s takes %s", name, want)
	case n > 1 && substring:
		return nil, p.failAt(nameTok, "%s takes 2 arguments", name)
	}
	for _, a := range args {
		switch c.kind {
		case fnCIDRMatch:
			pr, ok := parseCIDR(a.val)
			if !ok {
				return nil, p.failAt(a, "cidrMatch: %q is not a CIDR block such as 10.0.0.0/8", a.val)
			}
			c.prefixes = append(c.prefixes, pr)
		case fnWildcard:
			if len(a.val) > MaxPatternBytes {
				return nil, p.failAt(a, "pattern of %d bytes is longer than %d bytes", len(a.val), MaxPatternBytes)
			}
			c.wild.patterns = append(c.wild.patterns, a.val)
		default:
			s := a.val
			if fold {
				s = strings.ToLower(s)
			}
			c.strs = append(c.strs, s)
		}
	}
	if c.kind == fnWildcard {
		c.wild = newPatternNode(expr{}, c.wild.patterns, fold)
	}
	return c, nil
}

func (p *parser) parseTest(x expr, desc string) (node, error) {
	t := p.peek()
	switch {
	case t.kind == tokPunct && (t.text == "==" || t.text == "!="):
		p.next()
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		var n node = equalNode{x: x, value: v}
		if t.text == "!=" {
			// Elasticsearch translates != into a must_not of the == query, so a document
			// without the field (or whose array holds the value) follows from negation.
			n = notNode{n}
		}
		return n, nil
	case t.kind == tokPunct && (t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">="):
		p.next()
		vt := p.peek()
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		switch v.(type) {
		case string, float64:
		default:
			return nil, p.failAt(vt, "'%s' compares only with a string or a number, found %s", t.text, describe(vt))
		}
		return orderNode{x: x, op: t.text, value: v}, nil
	case t.kind == tokPunct && t.text == ":", t.kind == tokWord && (t.text == "like" || t.text == "like~"):
		p.next()
		pats, err := p.parsePatterns(t.text)
		if err != nil {
			return nil, err
		}
		return newPatternNode(x, pats, t.text != "like"), nil
	case t.kind == tokWord && (t.text == "regex" || t.text == "regex~"):
		p.next()
		start := p.peek()
		pats, err := p.parsePatterns(t.text)
		if err != nil {
			return nil, err
		}
		n := regexNode{x: x}
		for _, pat := range pats {
			re, msg := compileRegex(pat, t.text == "regex~")
			if msg != "" {
				return nil, p.failAt(start, "%s %q: %s", t.text, shorten(pat), msg)
			}
			n.res = append(n.res, re)
		}
		return n, nil
	case t.kind == tokWord && (t.text == "in" || t.text == "in~"):
		return p.parseIn(x, false)
	case t.kind == tokWord && t.text == "not":
		p.next()
		if !p.atWord("in") && !p.atWord("in~") {
			return nil, p.expected("'in' or 'in~' after 'not'")
		}
		return p.parseIn(x, true)
	default:
		return nil, p.expected(fmt.Sprintf("an operator (==, !=, :, like, like~, regex, regex~, in, in~, <, >) after %s", desc))
	}
}

func (p *parser) parseIn(x expr, negate bool) (node, error) {
	op := p.next().text
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var values []any
	for {
		if len(values) == MaxListLen {
			return nil, p.failAt(p.peek(), "list of more than %d values", MaxListLen)
		}
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		values = append(values, v)
		if !p.atPunct(",") {
			break
		}
		p.next()
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	var n node = inNode{x: x, values: values, fold: op == "in~"}
	if negate {
		n = notNode{n}
	}
	return n, nil
}

// parsePatterns reads the string or parenthesized list of strings after ':', like, like~,
// regex or regex~.
func (p *parser) parsePatterns(op string) ([]string, error) {
	one := func() (string, error) {
		t := p.peek()
		if t.kind != tokString {
			return "", p.failAt(t, "'%s' needs a string pattern, found %s", op, describe(t))
		}
		if len(t.val) > MaxPatternBytes {
			return "", p.failAt(t, "pattern of %d bytes is longer than %d bytes", len(t.val), MaxPatternBytes)
		}
		p.next()
		return t.val, nil
	}
	if !p.atPunct("(") {
		s, err := one()
		return []string{s}, err
	}
	p.next()
	var pats []string
	for {
		if len(pats) == MaxListLen {
			return nil, p.failAt(p.peek(), "list of more than %d patterns", MaxListLen)
		}
		s, err := one()
		if err != nil {
			return nil, err
		}
		pats = append(pats, s)
		if !p.atPunct(",") {
			break
		}
		p.next()
	}
	return pats, p.expectPunct(")")
}

// parseValue reads a literal: string, number (optionally negative), true, false or null (nil).
func (p *parser) parseValue() (any, error) {
	t := p.peek()
	switch {
	case t.kind == tokString:
		p.next()
		return t.val, nil
	case t.kind == tokNumber:
		p.next()
		return t.num, nil
	case t.kind == tokPunct && t.text == "-" && p.toks[p.i+1].kind == tokNumber:
		p.next()
		return -p.next().num, nil
	case t.kind == tokWord && (t.text == "true" || t.text == "false"):
		p.next()
		return t.text == "true", nil
	case t.kind == tokWord && t.text == "null":
		p.next()
		return nil, nil
	case t.kind == tokEscaped || (t.kind == tokWord && !isKeyword(t.text)) || (t.kind == tokPunct && t.text == "?"):
		return nil, p.failAt(t, "expected a value (string, number, true, false or null), found %s: comparisons against fields are not supported", describe(t))
	default:
		return nil, p.expected("a value (string, number, true, false or null)")
	}
}
