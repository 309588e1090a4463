package spec

import (
	"encoding/binary"
	"errors"
)

// The binary form: varints and length-prefixed strings, read back with no
// reflection and one allocation for all strings (they are slices of one
// string). JSON took longer to decode than the YAML took to parse.

// ErrCorrupt is a binary form that does not decode.
var ErrCorrupt = errors.New("damaged policy data")

// Encoder appends the binary form to B.
type Encoder struct{ B []byte }

// Uint appends a non-negative integer.
func (e *Encoder) Uint(v int) { e.B = binary.AppendUvarint(e.B, uint64(v)) }

// Str appends a string.
func (e *Encoder) Str(s string) {
	e.Uint(len(s))
	e.B = append(e.B, s...)
}

func (e *Encoder) pos(p Pos) { e.Uint(p.Line); e.Uint(p.Col) }

func (e *Encoder) values(vs []Value) {
	e.Uint(len(vs))
	for _, v := range vs {
		e.Str(v.S)
		e.pos(v.Pos)
	}
}

// Spec appends a whole spec.
func (e *Encoder) Spec(s *Spec) {
	e.Uint(len(s.Selectors))
	for _, sel := range s.Selectors {
		e.Str(sel.Name)
		e.Uint(sel.Index)
		e.pos(sel.Pos)
		e.Uint(len(sel.Conds))
		for _, c := range sel.Conds {
			e.Str(c.Key)
			e.pos(c.Pos)
			flags := 0
			if c.Flag {
				flags |= 1
			}
			if c.Bad {
				flags |= 2
			}
			e.Uint(flags)
			e.values(c.Values)
			e.Uint(len(c.Windows))
			for _, w := range c.Windows {
				e.Uint(len(w.Days))
				for _, d := range w.Days {
					e.Str(d)
				}
				e.Str(w.Hours)
				e.Str(w.Timezone)
				e.pos(w.Pos)
				e.pos(w.DaysPos)
				e.pos(w.HoursPos)
				e.pos(w.ZonePos)
			}
		}
	}
	e.Uint(len(s.Responses))
	for _, r := range s.Responses {
		e.Uint(r.Index)
		e.pos(r.Pos)
		e.pos(r.MatchPos)
		e.pos(r.ActionsPos)
		e.values(r.Match)
		e.values(r.Exclude)
		e.values(r.Actions)
	}
	e.Uint(len(s.Notes))
	for _, n := range s.Notes {
		e.Str(n.File)
		e.Uint(n.Line)
		e.Uint(n.Column)
		e.Str(n.Key)
		e.Str(n.Msg)
		e.Str(n.Hint)
	}
}

// Decoder reads the binary form from S, starting at Off. A read past the
// end or a length larger than what is left sets Err and yields zero values.
type Decoder struct {
	S   string
	Off int
	Err bool
}

// Uint reads a non-negative integer.
func (d *Decoder) Uint() int {
	if d.Err {
		return 0
	}
	var v uint64
	var shift uint
	for {
		if d.Off >= len(d.S) || shift > 63 {
			d.Err = true
			return 0
		}
		c := d.S[d.Off]
		d.Off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			break
		}
		shift += 7
	}
	if v > 1<<40 {
		d.Err = true
		return 0
	}
	return int(v)
}

// count reads a length, bounded by the bytes left, so that damaged data
// cannot ask for a huge allocation.
func (d *Decoder) count() int {
	n := d.Uint()
	if n > len(d.S)-d.Off {
		d.Err = true
		return 0
	}
	return n
}

// Str reads a string: a slice of S, no copy.
func (d *Decoder) Str() string {
	n := d.count()
	if d.Err {
		return ""
	}
	s := d.S[d.Off : d.Off+n]
	d.Off += n
	return s
}

func (d *Decoder) pos() Pos { return Pos{Line: d.Uint(), Col: d.Uint()} }

func (d *Decoder) values() []Value {
	n := d.count()
	if n == 0 {
		return nil
	}
	vs := make([]Value, n)
	for i := range vs {
		vs[i] = Value{S: d.Str(), Pos: d.pos()}
	}
	return vs
}

// Spec reads a whole spec.
func (d *Decoder) Spec() (*Spec, error) {
	s := &Spec{}
	s.Selectors = make([]Selector, d.count())
	for i := range s.Selectors {
		sel := &s.Selectors[i]
		sel.Name, sel.Index, sel.Pos = d.Str(), d.Uint(), d.pos()
		sel.Conds = make([]Cond, d.count())
		for j := range sel.Conds {
			c := &sel.Conds[j]
			c.Key, c.Pos = d.Str(), d.pos()
			flags := d.Uint()
			c.Flag, c.Bad = flags&1 != 0, flags&2 != 0
			c.Values = d.values()
			if n := d.count(); n > 0 {
				c.Windows = make([]Window, n)
				for k := range c.Windows {
					w := &c.Windows[k]
					for m := d.count(); m > 0 && !d.Err; m-- {
						w.Days = append(w.Days, d.Str())
					}
					w.Hours, w.Timezone = d.Str(), d.Str()
					w.Pos, w.DaysPos, w.HoursPos, w.ZonePos = d.pos(), d.pos(), d.pos(), d.pos()
				}
			}
			if d.Err {
				return nil, ErrCorrupt
			}
		}
	}
	s.Responses = make([]Response, d.count())
	for i := range s.Responses {
		r := &s.Responses[i]
		r.Index, r.Pos, r.MatchPos, r.ActionsPos = d.Uint(), d.pos(), d.pos(), d.pos()
		r.Match, r.Exclude, r.Actions = d.values(), d.values(), d.values()
	}
	for n := d.count(); n > 0 && !d.Err; n-- {
		s.Notes = append(s.Notes, Error{File: d.Str(), Line: d.Uint(), Column: d.Uint(), Key: d.Str(), Msg: d.Str(), Hint: d.Str()})
	}
	if d.Err {
		return nil, ErrCorrupt
	}
	return s, nil
}
