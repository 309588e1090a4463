// Package tomledit makes small textual edits to TOML files that someone
// else wrote: add one string to a top-level array, set string keys of one
// table. Every byte outside the edit stays as it was (comments, quoting,
// order, blank lines); each edit returns the exact text it inserted so that
// it can be taken out again.
package tomledit

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Quote renders s as a TOML basic string. Control characters other than
// tab are refused: paths and names never hold them.
func Quote(s string) (string, error) {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			return "", fmt.Errorf("%q: control characters are not allowed", s)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

// Key renders a key: bare when TOML allows it, quoted otherwise.
func Key(k string) (string, error) {
	if k != "" && strings.Trim(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == "" {
		return k, nil
	}
	return Quote(k)
}

// expr is one top-level expression: a key/value or a table header.
type expr struct {
	kind  unstable.Kind
	key   []string
	start int // offset of the first byte of the expression's line content
	end   int // one past the last byte of the key/value (not the line)
	node  *unstable.Node
	table []string // enclosing table of a key/value
}

// scan parses data and lists its expressions with their byte ranges.
func scan(data []byte, visit func(p *unstable.Parser, e expr) error) error {
	p := unstable.Parser{}
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		n := p.Expression()
		var keys []string
		it := n.Key()
		var first *unstable.Node
		for it.Next() {
			k := it.Node()
			if first == nil {
				first = k
			}
			keys = append(keys, string(k.Data))
		}
		e := expr{kind: n.Kind, key: keys, node: n}
		switch n.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = keys
			if first != nil {
				e.start = lineStart(data, int(first.Raw.Offset))
				e.end = lineEnd(data, int(first.Raw.Offset))
			}
		case unstable.KeyValue:
			e.start = int(n.Raw.Offset)
			e.end = int(n.Raw.Offset + n.Raw.Length)
			e.table = table
		default:
			continue
		}
		if err := visit(&p, e); err != nil {
			return err
		}
	}
	return p.Error()
}

func lineStart(data []byte, off int) int {
	return bytes.LastIndexByte(data[:off], '\n') + 1
}

func lineEnd(data []byte, off int) int {
	if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
		return off + i
	}
	return len(data)
}

func eqKey(a []string, b ...string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ErrNotArray is returned when the key exists with a value that is not an
// array.
var ErrNotArray = errors.New("not an array")

// AppendToArray adds the string value to the top-level array key (e.g.
// containerd's imports). When the key is missing, a line `key = [value]` is
// added after the last top-level key/value (or at the top). It returns the
// new content and the exact text inserted.
func AppendToArray(data []byte, key, value string) ([]byte, string, error) {
	q, err := Quote(value)
	if err != nil {
		return nil, "", err
	}
	found := false
	var at int
	var insert string
	lastTop := -1
	stop := errors.New("stop")
	err = scan(data, func(p *unstable.Parser, e expr) error {
		if e.kind != unstable.KeyValue || len(e.table) > 0 {
			if e.kind != unstable.KeyValue {
				return stop // past the top-level keys
			}
			return nil
		}
		lastTop = e.end
		if !eqKey(e.key, key) {
			return nil
		}
		v := e.node.Value()
		if v.Kind != unstable.Array {
			return fmt.Errorf("%s: %w", key, ErrNotArray)
		}
		found = true
		var last *unstable.Node
		it := v.Children()
		for it.Next() {
			if c := it.Node(); c.Kind != unstable.Comment {
				last = c
			}
		}
		if last != nil {
			if last.Raw.Length == 0 {
				return fmt.Errorf("%s: cannot locate the array's last element", key)
			}
			at = int(last.Raw.Offset + last.Raw.Length)
			insert = ", " + q
			return stop
		}
		// Empty array: insert before its closing bracket.
		at = e.end - 1
		if at < 0 || data[at] != ']' {
			return fmt.Errorf("%s: cannot locate the array's closing bracket", key)
		}
		insert = q
		return stop
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, "", err
	}
	if !found {
		k, err := Key(key)
		if err != nil {
			return nil, "", err
		}
		if lastTop >= 0 {
			at = lineEnd(data, lastTop)
			insert = "\n" + k + " = [" + q + "]"
		} else {
			at = 0
			insert = k + " = [" + q + "]\n"
		}
	}
	out := make([]byte, 0, len(data)+len(insert))
	out = append(out, data[:at]...)
	out = append(out, insert...)
	out = append(out, data[at:]...)
	return out, insert, nil
}

// RemoveInserted takes out text that an edit inserted, when it occurs
// exactly once. ok is false (and data is returned unchanged) otherwise.
func RemoveInserted(data []byte, inserted string) ([]byte, bool) {
	if inserted == "" || bytes.Count(data, []byte(inserted)) != 1 {
		return data, false
	}
	i := bytes.Index(data, []byte(inserted))
	out := append(append([]byte{}, data[:i]...), data[i+len(inserted):]...)
	return out, true
}

// SetStrings sets string keys of the table named by table (a top-level
// table header, e.g. [runtimes]): an existing `key = "..."` in that table
// gets its value replaced; a missing key gets a line after the table's last
// key/value (or its header); a missing table is appended at the end.
// Keys are set in the order given.
func SetStrings(data []byte, table string, keys []string, values map[string]string) ([]byte, error) {
	out := data
	for _, k := range keys {
		var err error
		out, err = setString(out, table, k, values[k])
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func setString(data []byte, table, key, value string) ([]byte, error) {
	q, err := Quote(value)
	if err != nil {
		return nil, err
	}
	kq, err := Key(key)
	if err != nil {
		return nil, err
	}
	headerEnd, lastKV := -1, -1
	replaceFrom, replaceTo := -1, -1
	err = scan(data, func(p *unstable.Parser, e expr) error {
		switch e.kind {
		case unstable.Table, unstable.ArrayTable:
			if eqKey(e.key, table) && e.kind == unstable.Table {
				headerEnd = e.end
			}
			return nil
		}
		if !eqKey(e.table, table) {
			if len(e.table) == 0 && len(e.key) == 2 && e.key[0] == table {
				return fmt.Errorf("%s.%s is set as a dotted key at the top level; edit it by hand", table, e.key[1])
			}
			return nil
		}
		lastKV = e.end
		if !eqKey(e.key, key) {
			return nil
		}
		v := e.node.Value()
		if v.Kind != unstable.String || v.Raw.Length == 0 {
			return fmt.Errorf("[%s] %s is not a string", table, key)
		}
		replaceFrom = int(v.Raw.Offset)
		replaceTo = int(v.Raw.Offset + v.Raw.Length)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var at int
	var insert string
	switch {
	case replaceFrom >= 0:
		out := append([]byte{}, data[:replaceFrom]...)
		out = append(out, q...)
		return append(out, data[replaceTo:]...), nil
	case headerEnd >= 0:
		at = headerEnd
		if lastKV > headerEnd {
			at = lineEnd(data, lastKV)
		}
		insert = "\n" + kq + " = " + q
	default:
		tq, err := Key(table)
		if err != nil {
			return nil, err
		}
		at = len(data)
		insert = "[" + tq + "]\n" + kq + " = " + q + "\n"
		switch {
		case len(data) == 0:
		case data[len(data)-1] != '\n':
			insert = "\n\n" + insert
		default:
			insert = "\n" + insert
		}
	}
	out := append([]byte{}, data[:at]...)
	out = append(out, insert...)
	return append(out, data[at:]...), nil
}

// Parse decodes a whole file into nested maps. The error names the file
// and, when go-toml knows it, the line and column.
func Parse(name string, data []byte) (map[string]any, error) {
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("%s: line %d, column %d: %s", name, row, col, de.Error())
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// SetTopString sets a top-level string key: its value is replaced when
// the key exists, else a line is added after the last top-level key/value
// (or at the top of the file, before any table).
func SetTopString(data []byte, key, value string) ([]byte, error) {
	q, err := Quote(value)
	if err != nil {
		return nil, err
	}
	kq, err := Key(key)
	if err != nil {
		return nil, err
	}
	lastTop := -1
	replaceFrom, replaceTo := -1, -1
	stop := errors.New("stop")
	err = scan(data, func(p *unstable.Parser, e expr) error {
		if e.kind != unstable.KeyValue {
			return stop
		}
		lastTop = e.end
		if !eqKey(e.key, key) {
			return nil
		}
		v := e.node.Value()
		if v.Kind != unstable.String || v.Raw.Length == 0 {
			return fmt.Errorf("%s is not a string", key)
		}
		replaceFrom, replaceTo = int(v.Raw.Offset), int(v.Raw.Offset+v.Raw.Length)
		return stop
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, err
	}
	var at int
	var insert string
	switch {
	case replaceFrom >= 0:
		out := append([]byte{}, data[:replaceFrom]...)
		out = append(out, q...)
		return append(out, data[replaceTo:]...), nil
	case lastTop >= 0:
		at = lineEnd(data, lastTop)
		insert = "\n" + kq + " = " + q
	default:
		// Before the first table, after leading comments and blank lines.
		at = firstTable(data)
		insert = kq + " = " + q + "\n"
		if at > 0 && data[at-1] != '\n' {
			insert = "\n" + insert
		}
	}
	out := append([]byte{}, data[:at]...)
	out = append(out, insert...)
	return append(out, data[at:]...), nil
}

// firstTable is the offset of the line of the first table header, or the
// end of the data.
func firstTable(data []byte) int {
	at := len(data)
	stop := errors.New("stop")
	_ = scan(data, func(p *unstable.Parser, e expr) error {
		if e.kind == unstable.Table || e.kind == unstable.ArrayTable {
			at = e.start
		}
		return stop
	})
	return at
}
