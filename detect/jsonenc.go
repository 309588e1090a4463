package detect

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
)

// marshal is json.Marshal for the event documents, without its start-up
// cost: encoding/json builds and caches an encoder per type on first use,
// which a runtime wrapper (a fresh process per call) pays on every call.
// This walks the same struct definitions and json tags directly; what it
// does not reproduce itself it hands to encoding/json. The output is
// byte-identical to json.Marshal's (TestMarshalSameAsJSON).
func marshal(v any) ([]byte, error) {
	return appendJSON(make([]byte, 0, 1024), reflect.ValueOf(v), nil)
}

// parts holds the JSON of a record's parts (the shared members, the event
// object, the data streams, an alert's members) one after another in one
// buffer. A buffer per part was an allocation of 1 KiB each and the copies
// of its growth; in a wrapper, a fresh process per call, every new
// allocation size also takes fresh memory pages.
type parts struct{ buf []byte }

// marshal appends v's JSON and returns it, capped so that appending to it
// cannot overwrite a later part.
func (p *parts) marshal(v any) ([]byte, error) {
	start := len(p.buf)
	b, err := appendJSON(p.buf, reflect.ValueOf(v), nil)
	if err != nil {
		return nil, err
	}
	p.buf = b
	return b[start:len(b):len(b)], nil
}

// appendJSON appends v's JSON; ti is v's typeInfo when the caller knows it
// (a generated table's link), else nil.
func appendJSON(buf []byte, v reflect.Value, ti *typeInfo) ([]byte, error) {
	if !v.IsValid() {
		return append(buf, "null"...), nil
	}
	if ti == nil {
		ti = infoOf(v.Type())
	}
	if customJSON(v, ti) {
		return appendMarshaled(buf, v)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return append(buf, "null"...), nil
		}
		return appendJSON(buf, v.Elem(), ti.elem)
	case reflect.Struct:
		return appendStruct(buf, v, ti)
	case reflect.Map:
		if v.IsNil() {
			return append(buf, "null"...), nil
		}
		if v.Type().Key().Kind() != reflect.String {
			return appendMarshaled(buf, v)
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			switch x, y := a.String(), b.String(); {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		})
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, k.String())
			buf = append(buf, ':')
			var err error
			if buf, err = appendJSON(buf, v.MapIndex(k), ti.elem); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return append(buf, "null"...), nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return appendMarshaled(buf, v)
		}
		buf = append(buf, '[')
		for i := range v.Len() {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendJSON(buf, v.Index(i), ti.elem); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	case reflect.String:
		if v.Type() == reflect.TypeFor[json.Number]() {
			return appendMarshaled(buf, v)
		}
		return appendString(buf, v.String()), nil
	case reflect.Bool:
		return strconv.AppendBool(buf, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(buf, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(buf, v.Uint(), 10), nil
	}
	return appendMarshaled(buf, v)
}

func appendStruct(buf []byte, v reflect.Value, ti *typeInfo) ([]byte, error) {
	if !ti.plain {
		return appendMarshaled(buf, v)
	}
	buf = append(buf, '{')
	first := true
	for _, jf := range ti.fields {
		fv := v.Field(jf.index)
		if jf.omitted(fv) {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, jf.key...)
		var err error
		if buf, err = appendJSON(buf, fv, jf.info); err != nil {
			return nil, err
		}
	}
	return append(buf, '}'), nil
}

// appendMarshaled hands v to encoding/json.
func appendMarshaled(buf []byte, v reflect.Value) ([]byte, error) {
	if v.CanAddr() {
		v = v.Addr()
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, err
	}
	return append(buf, b...), nil
}

// appendString writes s as encoding/json does: HTML-safe, invalid UTF-8 as
// U+FFFD, U+2028 and U+2029 escaped.
func appendString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '\\', '"':
				buf = append(buf, '\\', b)
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
