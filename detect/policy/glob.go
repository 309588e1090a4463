package policy

import (
	"fmt"
	"strings"
)

// maxPattern is the longest pattern accepted, in bytes: D4C's limit for
// condition values. It also bounds the matcher's state to 8 words.
const maxPattern = 511

// flavor says what a pattern's wildcards mean.
type flavor uint8

const (
	// trailing: exact, or a single trailing * for any suffix (D4C's pod
	// names and label values).
	trailing flavor = iota
	// path: * matches within one path component, ** across components.
	path
	// anyStar: * matches any run of bytes.
	anyStar
)

type globKind uint8

const (
	globExact globKind = iota
	globPrefix
	globSuffix
	globProg
)

// glob is a compiled pattern. Literal, prefix and suffix patterns, the common
// cases, are string comparisons; the rest run a bit-parallel automaton
// (shift-and with wildcards) that reads each input byte once, so no pattern
// can make matching slow: the cost is O(len(text) × words), words <= 8.
type glob struct {
	kind globKind
	lit  string
	prog *automaton
}

func (g *glob) match(s string) bool {
	switch g.kind {
	case globExact:
		return s == g.lit
	case globPrefix:
		return strings.HasPrefix(s, g.lit)
	case globSuffix:
		return strings.HasSuffix(s, g.lit)
	default:
		return g.prog.match(s)
	}
}

// patternError is a bad pattern: what is wrong and how to fix it.
type patternError struct{ msg, hint string }

func (e *patternError) Error() string { return e.msg }

func compileGlob(pattern string, fl flavor) (glob, *patternError) {
	var g glob
	switch {
	case pattern == "":
		return g, &patternError{"empty value", "remove it, or write the value to match"}
	case len(pattern) > maxPattern:
		return g, &patternError{fmt.Sprintf("value of %d bytes is longer than %d bytes", len(pattern), maxPattern), "shorten it; use a wildcard for the rest"}
	case strings.IndexByte(pattern, 0) >= 0:
		return g, &patternError{"value contains a NUL byte", ""}
	}
	stars := strings.Count(pattern, "*")
	if fl == trailing {
		switch {
		case stars == 0:
			g.kind, g.lit = globExact, pattern
		case stars == 1 && pattern[len(pattern)-1] == '*':
			g.kind, g.lit = globPrefix, pattern[:len(pattern)-1]
		default:
			return g, &patternError{"only a trailing * is supported here", "write a prefix followed by one *, e.g. web-*"}
		}
		return g, nil
	}
	switch {
	case stars == 0:
		g.kind, g.lit = globExact, pattern
		return g, nil
	case fl == anyStar && strings.Trim(pattern, "*") != "" && strings.Count(strings.TrimRight(pattern, "*"), "*") == 0:
		g.kind, g.lit = globPrefix, strings.TrimRight(pattern, "*")
		return g, nil
	case fl == anyStar && strings.Trim(pattern, "*") != "" && strings.Count(strings.TrimLeft(pattern, "*"), "*") == 0:
		g.kind, g.lit = globSuffix, strings.TrimLeft(pattern, "*")
		return g, nil
	case fl == path && strings.HasSuffix(pattern, "**") && strings.Count(strings.TrimRight(pattern, "*"), "*") == 0:
		g.kind, g.lit = globPrefix, strings.TrimRight(pattern, "*")
		return g, nil
	}
	g.kind, g.prog = globProg, newAutomaton(pattern, fl)
	return g, nil
}

// automaton recognises a pattern of literal bytes, * and ** with one bit
// per state: state i means "the first i tokens have been matched". Runs of
// stars are one token, so a single closure step follows every byte.
type automaton struct {
	n      int        // tokens; state n accepts
	w      int        // 64-bit words per state set
	index  [256]uint8 // 1 + index into lit for bytes the pattern contains
	lit    []uint64   // per distinct byte, w words: states whose token is that byte
	stay   []uint64   // states that consume any byte and stay (**)
	stayNS []uint64   // states that consume any byte but '/' and stay (* in paths)
	star   []uint64   // star states: also move on without consuming
}

const maxWords = (maxPattern + 1 + 63) / 64

type token struct {
	star  bool
	slash bool // a star that does not match '/'
	b     byte
}

func newAutomaton(pattern string, fl flavor) *automaton {
	toks := make([]token, 0, len(pattern))
	var seen [256]bool
	distinct := 0
	for i := 0; i < len(pattern); {
		if c := pattern[i]; c != '*' {
			toks = append(toks, token{b: c})
			if !seen[c] {
				seen[c] = true
				distinct++
			}
			i++
			continue
		}
		j := i
		for j < len(pattern) && pattern[j] == '*' {
			j++
		}
		toks = append(toks, token{star: true, slash: fl == path && j-i == 1})
		i = j
	}
	a := &automaton{n: len(toks), w: (len(toks) + 1 + 63) / 64}
	// One allocation for all masks.
	masks := make([]uint64, a.w*(3+distinct))
	a.stay, a.stayNS, a.star = masks[:a.w], masks[a.w:2*a.w], masks[2*a.w:3*a.w]
	a.lit = masks[3*a.w:]
	next := uint8(0)
	set := func(m []uint64, s int) { m[s/64] |= 1 << (s % 64) }
	for s, t := range toks {
		if t.star {
			set(a.star, s)
			if t.slash {
				set(a.stayNS, s)
			} else {
				set(a.stay, s)
			}
			continue
		}
		if a.index[t.b] == 0 {
			next++
			a.index[t.b] = next
		}
		k := int(a.index[t.b]) - 1
		set(a.lit[k*a.w:(k+1)*a.w], s)
	}
	return a
}

func (a *automaton) match(s string) bool {
	if a.w == 1 {
		return a.match1(s)
	}
	var d [maxWords]uint64
	d[0] = 1
	a.closure(&d)
	for i := 0; i < len(s); i++ {
		c := s[i]
		var lit []uint64
		if k := int(a.index[c]); k != 0 {
			lit = a.lit[(k-1)*a.w : k*a.w]
		}
		var carry, any uint64
		for j := 0; j < a.w; j++ {
			st := a.stay[j]
			if c != '/' {
				st |= a.stayNS[j]
			}
			var x uint64
			if lit != nil {
				x = d[j] & lit[j]
			}
			d[j] = x<<1 | carry | d[j]&st
			carry = x >> 63
			any |= d[j]
		}
		if any == 0 {
			return false
		}
		a.closure(&d)
	}
	return d[a.n/64]&(1<<(a.n%64)) != 0
}

func (a *automaton) closure(d *[maxWords]uint64) {
	var carry uint64
	for j := 0; j < a.w; j++ {
		y := d[j] & a.star[j]
		d[j] |= y<<1 | carry
		carry = y >> 63
	}
}

// match1 is match for patterns of at most 63 tokens: one word of state.
func (a *automaton) match1(s string) bool {
	stay, stayNS, star := a.stay[0], a.stay[0]|a.stayNS[0], a.star[0]
	d := uint64(1)
	d |= (d & star) << 1
	for i := 0; i < len(s); i++ {
		c := s[i]
		var x uint64
		if k := a.index[c]; k != 0 {
			x = d & a.lit[k-1]
		}
		if c == '/' {
			d = x<<1 | d&stay
		} else {
			d = x<<1 | d&stayNS
		}
		if d == 0 {
			return false
		}
		d |= (d & star) << 1
	}
	return d&(1<<a.n) != 0
}
