package policy

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
)

// The node cache stores a spec in a small binary form: varints and
// length-prefixed strings, read back with no reflection and one allocation
// for all strings. JSON took longer to decode than the YAML took to parse.

var cacheMagic = [8]byte{'e', 'g', 'p', 'o', 'l', 'i', 'c', 'y'}

type encoder struct{ b []byte }

func (e *encoder) uint(v int) { e.b = binary.AppendUvarint(e.b, uint64(v)) }
func (e *encoder) str(s string) {
	e.uint(len(s))
	e.b = append(e.b, s...)
}
func (e *encoder) pos(p pos) { e.uint(p.Line); e.uint(p.Col) }
func (e *encoder) values(vs []valueSpec) {
	e.uint(len(vs))
	for _, v := range vs {
		e.str(v.S)
		e.pos(v.Pos)
	}
}

func encodeEntry(c *cacheEntry) []byte {
	e := &encoder{b: make([]byte, 0, 32<<10)}
	e.b = append(e.b, cacheMagic[:]...)
	e.uint(c.Format)
	e.str(c.Path)
	e.str(c.Revision)
	e.str(c.StatKey)
	s := c.Spec
	e.uint(len(s.Selectors))
	for _, sel := range s.Selectors {
		e.str(sel.Name)
		e.uint(sel.Index)
		e.pos(sel.Pos)
		e.uint(len(sel.Conds))
		for _, cd := range sel.Conds {
			e.str(cd.Key)
			e.pos(cd.Pos)
			if cd.Flag {
				e.uint(1)
			} else {
				e.uint(0)
			}
			e.values(cd.Values)
			e.uint(len(cd.Windows))
			for _, w := range cd.Windows {
				e.uint(len(w.Days))
				for _, d := range w.Days {
					e.str(d)
				}
				e.str(w.Hours)
				e.str(w.Timezone)
				e.pos(w.Pos)
				e.pos(w.DaysPos)
				e.pos(w.HoursPos)
				e.pos(w.ZonePos)
			}
		}
	}
	e.uint(len(s.Responses))
	for _, r := range s.Responses {
		e.uint(r.Index)
		e.pos(r.Pos)
		e.pos(r.MatchPos)
		e.pos(r.ActionsPos)
		e.values(r.Match)
		e.values(r.Exclude)
		e.values(r.Actions)
	}
	e.uint(len(s.Notes))
	for _, n := range s.Notes {
		e.str(n.File)
		e.uint(n.Line)
		e.uint(n.Column)
		e.str(n.Key)
		e.str(n.Msg)
		e.str(n.Hint)
	}
	h := fnv.New64a()
	h.Write(e.b)
	return binary.LittleEndian.AppendUint64(e.b, h.Sum64())
}

var errCorrupt = errors.New("policy cache: damaged entry")

type decoder struct {
	s   string // the whole entry: strings are slices of it
	off int
	err bool
}

func (d *decoder) uint() int {
	if d.err {
		return 0
	}
	var v uint64
	var shift uint
	for {
		if d.off >= len(d.s) || shift > 63 {
			d.err = true
			return 0
		}
		c := d.s[d.off]
		d.off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			break
		}
		shift += 7
	}
	if v > uint64(len(d.s)) && v > 1<<31 {
		d.err = true
		return 0
	}
	return int(v)
}

// count reads a list length, bounded by the bytes left so that a damaged
// entry cannot ask for a huge allocation.
func (d *decoder) count() int {
	n := d.uint()
	if n > len(d.s)-d.off {
		d.err = true
		return 0
	}
	return n
}

func (d *decoder) str() string {
	n := d.count()
	if d.err {
		return ""
	}
	s := d.s[d.off : d.off+n]
	d.off += n
	return s
}

func (d *decoder) pos() pos { return pos{Line: d.uint(), Col: d.uint()} }

func (d *decoder) values() []valueSpec {
	n := d.count()
	if n == 0 {
		return nil
	}
	vs := make([]valueSpec, n)
	for i := range vs {
		vs[i] = valueSpec{S: d.str(), Pos: d.pos()}
	}
	return vs
}

func decodeEntry(data []byte) (*cacheEntry, error) {
	if len(data) < len(cacheMagic)+8 || string(data[:len(cacheMagic)]) != string(cacheMagic[:]) {
		return nil, errCorrupt
	}
	body := data[:len(data)-8]
	h := fnv.New64a()
	h.Write(body)
	if h.Sum64() != binary.LittleEndian.Uint64(data[len(data)-8:]) {
		return nil, errCorrupt
	}
	d := &decoder{s: string(body), off: len(cacheMagic)}
	c := &cacheEntry{Format: d.uint(), Path: d.str(), Revision: d.str(), StatKey: d.str(), Spec: &spec{}}
	if c.Format != cacheFormat {
		return nil, errCorrupt
	}
	s := c.Spec
	s.Selectors = make([]selectorSpec, d.count())
	for i := range s.Selectors {
		sel := &s.Selectors[i]
		sel.Name, sel.Index, sel.Pos = d.str(), d.uint(), d.pos()
		sel.Conds = make([]condSpec, d.count())
		for j := range sel.Conds {
			cd := &sel.Conds[j]
			cd.Key, cd.Pos, cd.Flag = d.str(), d.pos(), d.uint() == 1
			cd.Values = d.values()
			if n := d.count(); n > 0 {
				cd.Windows = make([]windowSpec, n)
				for k := range cd.Windows {
					w := &cd.Windows[k]
					for m := d.count(); m > 0 && !d.err; m-- {
						w.Days = append(w.Days, d.str())
					}
					w.Hours, w.Timezone = d.str(), d.str()
					w.Pos, w.DaysPos, w.HoursPos, w.ZonePos = d.pos(), d.pos(), d.pos(), d.pos()
				}
			}
			if d.err {
				return nil, errCorrupt
			}
		}
	}
	s.Responses = make([]responseSpec, d.count())
	for i := range s.Responses {
		r := &s.Responses[i]
		r.Index, r.Pos, r.MatchPos, r.ActionsPos = d.uint(), d.pos(), d.pos(), d.pos()
		r.Match, r.Exclude, r.Actions = d.values(), d.values(), d.values()
	}
	for n := d.count(); n > 0 && !d.err; n-- {
		s.Notes = append(s.Notes, Error{File: d.str(), Line: d.uint(), Column: d.uint(), Key: d.str(), Msg: d.str(), Hint: d.str()})
	}
	if d.err || d.off != len(d.s) {
		return nil, errCorrupt
	}
	return c, nil
}
