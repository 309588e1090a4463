// Package ecsfields checks documents against the fields Elasticsearch maps
// for Defend for Containers' process stream: every ECS field (8.11 and the
// main branch of May 2026) with the cloud_defend integration's own fields
// over them (fields.tsv: name, type, whether ECS expects an array, source).
// A document indexes cleanly when each leaf is a field of the table with a
// compatible JSON value, or sits under a namespace the caller allows.
package ecsfields

import (
	_ "embed"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

//go:embed fields.tsv
var table string

// Field is one mapped field.
type Field struct {
	Type  string
	Array bool
}

// Table is the mapped fields by dotted name.
type Table map[string]Field

// Load parses the embedded table.
func Load() (Table, error) {
	t := Table{}
	for i, line := range strings.Split(table, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 3 {
			return nil, fmt.Errorf("fields.tsv line %d: %d columns, want name, type, array", i+1, len(cols))
		}
		t[cols[0]] = Field{Type: cols[1], Array: cols[2] == "array"}
	}
	return t, nil
}

// Leaves lists a decoded JSON document's leaf fields by dotted name, with
// their values; an array is one leaf (its elements are its values), an
// empty object none (Elasticsearch indexes nothing of it).
func Leaves(doc map[string]any) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok {
			for k, c := range m {
				name := k
				if prefix != "" {
					name = prefix + "." + k
				}
				walk(name, c)
			}
			return
		}
		out[prefix] = v
	}
	walk("", doc)
	return out
}

// Check lists what in doc would not index cleanly: a leaf the table does
// not map (unless its name starts with one of allowed), or a value its
// type cannot take. Fields under a flattened field take any value.
func (t Table) Check(doc map[string]any, allowed ...string) []string {
	var problems []string
	leaves := Leaves(doc)
	names := make([]string, 0, len(leaves))
	for n := range leaves {
		names = append(names, n)
	}
	sort.Strings(names)
next:
	for _, name := range names {
		for _, a := range allowed {
			if strings.HasPrefix(name, a) {
				continue next
			}
		}
		if t.underFlattened(name) {
			continue
		}
		f, ok := t[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: not a mapped field", name))
			continue
		}
		if err := Compatible(f.Type, leaves[name]); err != nil {
			problems = append(problems, fmt.Sprintf("%s (%s): %v", name, f.Type, err))
		}
	}
	return problems
}

// underFlattened reports whether name is a flattened field or under one.
func (t Table) underFlattened(name string) bool {
	for p := name; ; {
		if f, ok := t[p]; ok && f.Type == "flattened" {
			return true
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

// Compatible says why a JSON value (as encoding/json decodes it) cannot be
// indexed as typ, or nil. Arrays are checked element by element, as
// Elasticsearch indexes them.
func Compatible(typ string, v any) error {
	if arr, ok := v.([]any); ok {
		for i, e := range arr {
			if err := Compatible(typ, e); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		return nil
	}
	switch typ {
	case "keyword", "constant_keyword", "wildcard", "match_only_text", "text":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%v is a %T, want a string", v, v)
		}
	case "date":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%v is a %T, want an RFC 3339 time", v, v)
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("%q is not an RFC 3339 time", s)
		}
	case "long", "integer", "short":
		n, ok := v.(float64)
		if !ok || n != float64(int64(n)) {
			return fmt.Errorf("%v is not an integer", v)
		}
		if typ == "short" && (n < -32768 || n > 32767) {
			return fmt.Errorf("%v is out of a short's range", v)
		}
		if typ == "integer" && (n < -1<<31 || n > 1<<31-1) {
			return fmt.Errorf("%v is out of an integer's range", v)
		}
	case "float", "double", "scaled_float":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%v is a %T, want a number", v, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%v is a %T, want a boolean", v, v)
		}
	case "ip":
		s, _ := v.(string)
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Errorf("%v is not an IP address", v)
		}
	case "flattened", "object", "nested":
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("%v is a %T, want an object", v, v)
		}
	default:
		return fmt.Errorf("type %s is not checked here", typ)
	}
	return nil
}
