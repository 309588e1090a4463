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
//	primary    = "(" or ")" | "true" | "false" | field test
//	test       = ("==" | "!=" | "<" | "<=" | ">" | ">=") value
//	           | (":" | "like" | "like~") patterns
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
	src  string
	toks []token
	i    int
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
	q := &Query{src: p.src}
	t := p.peek()
	switch {
	case t.kind == tokWord && t.text == "any":
	case t.kind == tokWord && (t.text == "sequence" || t.text == "join"):
		return nil, p.failAt(t, "%s queries are not supported, only single-event queries", t.text)
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
	if p.peek().kind != tokEOF {
		return nil, p.expected("'and', 'or' or end of query")
	}
	q.cond = cond
	return q, nil
}

func (p *parser) parseOr() (node, error) {
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
	case t.kind == tokEscaped || (t.kind == tokWord && !isKeyword(t.text)):
		f, err := p.parseField()
		if err != nil {
			return nil, err
		}
		return p.parseTest(f)
	default:
		return nil, p.expected("a condition (a field comparison, 'not', '(' or true/false)")
	}
}

func (p *parser) parseField() (field, error) {
	f := field{path: []string{fieldSegment(p.next())}}
	for p.atPunct(".") {
		p.next()
		t := p.peek()
		if t.kind != tokWord && t.kind != tokEscaped {
			return field{}, p.expected("a field name after '.'")
		}
		f.path = append(f.path, fieldSegment(p.next()))
	}
	f.name = strings.Join(f.path, ".")
	return f, nil
}

func fieldSegment(t token) string {
	if t.kind == tokEscaped {
		return t.val
	}
	return t.text
}

func (p *parser) parseTest(f field) (node, error) {
	t := p.peek()
	switch {
	case t.kind == tokPunct && (t.text == "==" || t.text == "!="):
		p.next()
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		var n node = equalNode{field: f, value: v}
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
		return orderNode{field: f, op: t.text, value: v}, nil
	case t.kind == tokPunct && t.text == ":", t.kind == tokWord && (t.text == "like" || t.text == "like~"):
		p.next()
		pats, err := p.parsePatterns(t.text)
		if err != nil {
			return nil, err
		}
		return newPatternNode(f, pats, t.text != "like"), nil
	case t.kind == tokWord && (t.text == "in" || t.text == "in~"):
		return p.parseIn(f, false)
	case t.kind == tokWord && t.text == "not":
		p.next()
		if !p.atWord("in") && !p.atWord("in~") {
			return nil, p.expected("'in' or 'in~' after 'not'")
		}
		return p.parseIn(f, true)
	case t.kind == tokWord && (t.text == "regex" || t.text == "regex~"):
		return nil, p.failAt(t, "'%s' is not supported by this evaluator", t.text)
	default:
		return nil, p.expected(fmt.Sprintf("an operator (==, !=, :, like, like~, in, in~, <, >) after field %s", f.name))
	}
}

func (p *parser) parseIn(f field, negate bool) (node, error) {
	op := p.next().text
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var values []any
	for {
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
	var n node = inNode{field: f, values: values, fold: op == "in~"}
	if negate {
		n = notNode{n}
	}
	return n, nil
}

// parsePatterns reads the string or parenthesized list of strings after ':', 'like' or 'like~'.
func (p *parser) parsePatterns(op string) ([]string, error) {
	one := func() (string, error) {
		t := p.peek()
		if t.kind != tokString {
			return "", p.failAt(t, "'%s' needs a string pattern, found %s", op, describe(t))
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
	default:
		return nil, p.expected("a value (string, number, true, false or null)")
	}
}
