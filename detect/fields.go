package detect

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Fields is an event document as detection rules read it: the values of its
// dotted field names, taken from the typed document through its json tags,
// so rules see every field the document has, exactly as EventDocument would
// decode it, without the document being encoded and decoded for them.
type Fields struct {
	doc *document
}

// RuleFields is the event r's call would record before any decision (no
// block, no alert, no policy): the document detection rules are evaluated on.
// It is EventDocument without the JSON round trip.
func RuleFields(r Record) Fields {
	r.Decision = Decision{Interactive: InteractiveEntryLeader(r.Facts), StdinShell: StdinShell(r.Facts), Action: ActionLog}
	return Fields{doc: newDocument(r)}
}

// AppendValues appends the values at path (a dotted field name split at its
// dots) as a lookup in the decoded document finds them: strings (invalid
// UTF-8 replaced as encoding/json does), float64 numbers and bools; arrays
// flattened; null, missing and object values giving nothing; every level
// also tried as a flattened dotted key (a pod label named "app.kubernetes.io/name").
func (f Fields) AppendValues(dst []any, path []string) []any {
	if f.doc == nil || len(path) == 0 {
		return dst
	}
	// The event and data_stream objects are encoded on their own (see
	// Encode): members of the document all the same.
	switch path[0] {
	case "event":
		dst = appendValues(dst, reflect.ValueOf(&f.doc.Event).Elem(), path[1:], nil)
	case "data_stream":
		dst = appendValues(dst, reflect.ValueOf(&f.doc.DataStream).Elem(), path[1:], nil)
	}
	return appendValues(dst, reflect.ValueOf(f.doc).Elem(), path, nil)
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[interface{ MarshalText() ([]byte, error) }]()
)

// typeInfo is what the document walks need of one type, worked out once per
// type and process (as encoding/json caches its encoders): the shim walks
// the same few types for every exec.
type typeInfo struct {
	// encodes and ptrEncodes: the type, or a pointer to it, encodes itself.
	encodes, ptrEncodes bool
	// fields are a struct's JSON members in order; plain is false when the
	// struct needs what only encoding/json does (embedding, the string
	// option, a type's own IsZero).
	fields []jsonField
	plain  bool
	// elem is a pointer's, slice's, array's or map's element's typeInfo
	// in the generated tables (typeinfo_gen.go), nil elsewhere: the walks
	// then look it up.
	elem *typeInfo
}

// typeInfos maps a reflect.Type to its *typeInfo: derived from the type
// alone, never changed once stored.
var typeInfos sync.Map

// infoOf returns t's typeInfo: the event document's own types have theirs
// generated as static data (typeinfo_gen.go), so a fresh process neither
// derives nor caches them; any other type's is derived once and cached. The
// cache is asked first: a walk of the document mostly follows the tables'
// links and looks up only its root, while other types are looked up at every
// value, and the generated switch costs more than a cache hit.
func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	if ti := staticTypeInfo(t); ti != nil {
		return ti
	}
	actual, _ := typeInfos.LoadOrStore(t, deriveTypeInfo(t))
	return actual.(*typeInfo)
}

// deriveTypeInfo works out t's typeInfo from its definition and tags.
func deriveTypeInfo(t reflect.Type) *typeInfo {
	ti := &typeInfo{plain: true}
	// Only a named type, or a struct that embeds one, has methods. Asking
	// an unnamed type's pointer type for them would have reflect build
	// that pointer type, at the cost of its whole name, in every process.
	if mayHaveMethods(t) {
		ti.encodes = t.Implements(jsonMarshaler) || t.Implements(textMarshaler)
		if t.Kind() != reflect.Pointer {
			pt := reflect.PointerTo(t)
			ti.ptrEncodes = pt.Implements(jsonMarshaler) || pt.Implements(textMarshaler)
		}
	}
	if t.Kind() == reflect.Struct {
		// Sized once, with the encoded keys in one buffer: a fresh process
		// derives some sixty of these, each first use of its memory costly.
		n := t.NumField()
		ti.fields = make([]jsonField, 0, n)
		keys := make([]byte, 0, 16*n)
		for i := range n {
			jf, ok := jsonFieldOf(t.Field(i))
			if !ok {
				continue
			}
			if !jf.plain {
				ti.plain = false
				break
			}
			jf.index = i
			start := len(keys)
			keys = appendString(keys, jf.name)
			keys = append(keys, ':')
			jf.key = keys[start:len(keys):len(keys)]
			ti.fields = append(ti.fields, jf)
		}
	}
	return ti
}

// mayHaveMethods reports whether t or *t can have methods: t is named, or
// a struct with an embedded field (whose methods are promoted).
func mayHaveMethods(t reflect.Type) bool {
	if t.Name() != "" {
		return true
	}
	switch t.Kind() {
	case reflect.Pointer:
		return mayHaveMethods(t.Elem())
	case reflect.Struct:
	default:
		return false
	}
	for i := range t.NumField() {
		if t.Field(i).Anonymous {
			return true
		}
	}
	return false
}

// customJSON reports whether v encodes itself: then only its JSON says
// what it holds.
func customJSON(v reflect.Value, ti *typeInfo) bool {
	return ti.encodes || (ti.ptrEncodes && v.CanAddr())
}

// appendValues appends v's values at path; ti is v's typeInfo when the
// caller knows it (a generated table's link), else nil.
func appendValues(dst []any, v reflect.Value, path []string, ti *typeInfo) []any {
	if !v.IsValid() {
		return dst
	}
	if ti == nil {
		ti = infoOf(v.Type())
	}
	if customJSON(v, ti) {
		return appendDecoded(dst, v, path)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return dst
		}
		return appendValues(dst, v.Elem(), path, ti.elem)
	case reflect.Struct:
		if len(path) == 0 {
			return dst // an object is not a value
		}
		if !ti.plain {
			return appendDecoded(dst, v, path)
		}
		for _, jf := range ti.fields {
			n := matchKey(jf.name, path)
			if n == 0 {
				continue
			}
			fv := v.Field(jf.index)
			if jf.omitted(fv) {
				continue
			}
			dst = appendValues(dst, fv, path[n:], jf.info)
		}
		return dst
	case reflect.Map:
		if v.IsNil() || len(path) == 0 {
			return dst
		}
		if v.Type().Key().Kind() != reflect.String {
			return appendDecoded(dst, v, path)
		}
		for j := len(path); j > 0; j-- {
			key := reflect.ValueOf(strings.Join(path[:j], ".")).Convert(v.Type().Key())
			if mv := v.MapIndex(key); mv.IsValid() {
				dst = appendValues(dst, mv, path[j:], ti.elem)
			}
		}
		return dst
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return dst
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return appendDecoded(dst, v, path) // base64 text
		}
		for i := range v.Len() {
			dst = appendValues(dst, v.Index(i), path, ti.elem)
		}
		return dst
	}
	if len(path) > 0 {
		return dst
	}
	switch v.Kind() {
	case reflect.String:
		return append(dst, decodedString(v.String()))
	case reflect.Bool:
		return append(dst, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return append(dst, float64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return append(dst, float64(v.Uint()))
	case reflect.Float64:
		return append(dst, v.Float())
	}
	return appendDecoded(dst, v, path)
}

// matchKey reports how many elements of path the member name stands for: 1
// for a plain name, more for a name holding dots, 0 when it is not path's.
func matchKey(name string, path []string) int {
	if strings.IndexByte(name, '.') < 0 {
		if name == path[0] {
			return 1
		}
		return 0
	}
	rest := name
	for n, p := range path {
		if !strings.HasPrefix(rest, p) {
			return 0
		}
		rest = rest[len(p):]
		if rest == "" {
			return n + 1
		}
		if rest[0] != '.' {
			return 0
		}
		rest = rest[1:]
	}
	return 0
}

// appendDecoded takes v's values from its JSON, for what the typed walk does
// not reproduce itself (types that encode themselves, embedded structs,
// floats of other widths).
func appendDecoded(dst []any, v reflect.Value, path []string) []any {
	if v.CanAddr() {
		v = v.Addr()
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return dst
	}
	var x any
	if json.Unmarshal(b, &x) != nil {
		return dst
	}
	return appendDecodedValues(dst, x, path)
}

func appendDecodedValues(dst []any, x any, path []string) []any {
	switch x := x.(type) {
	case nil:
	case []any:
		for _, e := range x {
			dst = appendDecodedValues(dst, e, path)
		}
	case map[string]any:
		for j := len(path); j > 0; j-- {
			if c, ok := x[strings.Join(path[:j], ".")]; ok {
				dst = appendDecodedValues(dst, c, path[j:])
			}
		}
	default:
		if len(path) == 0 {
			dst = append(dst, x)
		}
	}
	return dst
}

// decodedString is s as encoding/json writes and reads it back: each byte of
// an invalid UTF-8 sequence becomes U+FFFD.
func decodedString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// jsonField is a struct field as encoding/json encodes it.
type jsonField struct {
	index               int
	name                string
	key                 []byte // the name encoded, and ':'
	omitEmpty, omitZero bool
	// plain is false when the field needs what only encoding/json does
	// (embedding, the string option, a type's own IsZero).
	plain bool
	// info is the field type's typeInfo in the generated tables, nil
	// elsewhere, as typeInfo.elem.
	info *typeInfo
}

// jsonFieldOf reads sf's json tag; ok is false for a field JSON leaves out.
func jsonFieldOf(sf reflect.StructField) (jsonField, bool) {
	if sf.Anonymous {
		return jsonField{}, true
	}
	if !sf.IsExported() {
		return jsonField{}, false
	}
	tag := sf.Tag.Get("json")
	if tag == "-" {
		return jsonField{}, false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if !validTagName(name) {
		name = sf.Name
	}
	jf := jsonField{name: name, plain: true}
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		switch o {
		case "omitempty":
			jf.omitEmpty = true
		case "omitzero":
			jf.omitZero = true
			if _, ok := sf.Type.MethodByName("IsZero"); ok {
				jf.plain = false
			}
		case "string":
			jf.plain = false
		}
	}
	return jf, true
}

// omitted reports whether encoding/json leaves the field's value v out.
func (jf jsonField) omitted(v reflect.Value) bool {
	if jf.omitZero && v.IsZero() {
		return true
	}
	if !jf.omitEmpty {
		return false
	}
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// validTagName is encoding/json's rule for a tag's name.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case unicode.IsLetter(c) || unicode.IsDigit(c):
		default:
			return false
		}
	}
	return true
}

// collect adds to out the dotted name of every member of the document that
// holds a value, null included, as collectFields does on the decoded
// document.
func (f Fields) collect(out map[string]bool) {
	if f.doc == nil {
		return
	}
	collectValue(reflect.ValueOf(f.doc).Elem(), "", out)
	collectValue(reflect.ValueOf(&f.doc.Event).Elem(), "event", out)
	collectValue(reflect.ValueOf(&f.doc.DataStream).Elem(), "data_stream", out)
}

func collectValue(v reflect.Value, prefix string, out map[string]bool) {
	join := func(name string) string {
		if prefix == "" {
			return name
		}
		return prefix + "." + name
	}
	ti := infoOf(v.Type())
	decoded := customJSON(v, ti) || (v.Kind() == reflect.Struct && !ti.plain) ||
		(v.Kind() == reflect.Map && v.Type().Key().Kind() != reflect.String) ||
		((v.Kind() == reflect.Slice || v.Kind() == reflect.Array) && v.Type().Elem().Kind() == reflect.Uint8)
	if decoded {
		if v.CanAddr() {
			v = v.Addr()
		}
		b, err := json.Marshal(v.Interface())
		var x any
		if err == nil && json.Unmarshal(b, &x) == nil {
			collectFields(x, prefix, out)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			out[prefix] = true
			return
		}
		collectValue(v.Elem(), prefix, out)
	case reflect.Struct:
		for _, jf := range ti.fields {
			if fv := v.Field(jf.index); !jf.omitted(fv) {
				collectValue(fv, join(jf.name), out)
			}
		}
	case reflect.Map:
		if v.IsNil() {
			out[prefix] = true
			return
		}
		for _, k := range v.MapKeys() {
			collectValue(v.MapIndex(k), join(decodedString(k.String())), out)
		}
	case reflect.Slice, reflect.Array:
		out[prefix] = true
		for i := range v.Len() {
			collectValue(v.Index(i), prefix, out)
		}
	default:
		out[prefix] = true
	}
}
