package detect

import (
	"reflect"
	"testing"
)

// TestStaticTypeInfo holds the generated tables to what the struct tags say
// now, type by type.
func TestStaticTypeInfo(t *testing.T) {
	for _, typ := range staticTypes() {
		got := staticTypeInfo(typ)
		if got == nil {
			t.Errorf("%s reaches no generated typeInfo: run go generate ./detect (make generate)", typ)
			continue
		}
		if want := deriveTypeInfo(typ); !reflect.DeepEqual(got, want) {
			t.Errorf("%s's generated typeInfo is\n%s\nits tags give\n%s\nrun go generate ./detect (make generate)", typ, typeInfoLiteral(got), typeInfoLiteral(want))
		}
		if infoOf(typ) != got {
			t.Errorf("infoOf(%s) is not the generated typeInfo", typ)
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
