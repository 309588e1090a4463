package detect

import (
	"reflect"
	"testing"
)

// unlinked is ti without its links to other tables, which only the
// generated tables have.
func unlinked(ti *typeInfo) *typeInfo {
	c := *ti
	c.elem = nil
	if ti.fields != nil {
		c.fields = make([]jsonField, len(ti.fields))
		for i, jf := range ti.fields {
			jf.info = nil
			c.fields[i] = jf
		}
	}
	return &c
}

// TestStaticTypeInfo holds the generated tables to what the struct tags say
// now, type by type, and each table's links to its members' and elements'
// tables.
func TestStaticTypeInfo(t *testing.T) {
	const regen = "run go generate ./detect (make generate)"
	for _, typ := range staticTypes() {
		got := staticTypeInfo(typ)
		if got == nil {
			t.Errorf("%s reaches no generated typeInfo: %s", typ, regen)
			continue
		}
		if want := deriveTypeInfo(typ); !reflect.DeepEqual(unlinked(got), want) {
			t.Errorf("%s's generated typeInfo is\n%s\nits tags give\n%s\n%s", typ, typeInfoLiteral(unlinked(got), "", nil), typeInfoLiteral(want, "", nil), regen)
		}
		if infoOf(typ) != got {
			t.Errorf("infoOf(%s) is not the generated typeInfo", typ)
		}
		var wantElem *typeInfo
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			wantElem = staticTypeInfo(typ.Elem())
		}
		if got.elem != wantElem {
			t.Errorf("%s's generated typeInfo links to the wrong element table: %s", typ, regen)
		}
		for _, jf := range got.fields {
			if ft := typ.Field(jf.index).Type; jf.info == nil || jf.info != staticTypeInfo(ft) {
				t.Errorf("%s's member %s links to the wrong table for %s: %s", typ, jf.name, ft, regen)
			}
		}
	}
}

// TestStaticTypeInfoOthers: a type outside the document has no generated
// typeInfo and is derived as before.
func TestStaticTypeInfoOthers(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[textOutputDoc](),
		reflect.TypeFor[ptrMarshaler](),
		reflect.TypeFor[struct{ A int }](),
		reflect.TypeFor[float32](),
	} {
		if ti := staticTypeInfo(typ); ti != nil {
			t.Errorf("staticTypeInfo(%s) = %+v, want none", typ, ti)
		}
		if got, want := infoOf(typ), deriveTypeInfo(typ); !reflect.DeepEqual(got, want) {
			t.Errorf("infoOf(%s) = %+v, want %+v", typ, got, want)
		}
	}
}
