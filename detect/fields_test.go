package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/detect/eql"
)

// fill sets every exported field reachable from v to a value that is not
// empty, so every member of a document type is encoded: a field added to
// the document later is covered without touching these tests.
func fill(t *testing.T, v reflect.Value, n *int) {
	t.Helper()
	*n++
	switch v.Kind() {
	case reflect.String:
		// Each string carries what JSON escapes or replaces.
		v.SetString(fmt.Sprintf("v%d <&>\"\\\n\t\x01\x7f\u2028\u0085é\xff", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.5)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(t, p.Elem(), n)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), n)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for _, k := range []string{"app.kubernetes.io/name", "tier", "z<&>"} {
			e := reflect.New(v.Type().Elem()).Elem()
			fill(t, e, n)
			m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), n)
			}
		}
	default:
		t.Fatalf("fill: no value for a %s: add one", v.Type())
	}
}

func fullDocument(t *testing.T) *document {
	var doc document
	n := 0
	fill(t, reflect.ValueOf(&doc).Elem(), &n)
	return &doc
}

// records are events of every kind a front writes.
func records() map[string]Record {
	execFacts := Facts{
		Operation: OpExec, Subcommand: "exec", ExecID: "e1", ExecKind: ExecStream,
		Process: Process{Known: true, Terminal: true, Args: []string{"/bin/sh", "-c", "echo <&> \x1b[31m\u009b\xff"}, Env: []string{"PATH=/bin", "TOKEN=x"}, Cwd: "/", UID: 1000, GID: 1000},
		Stdin:   StdinTerminal, StdinSource: "null",
		Container: Container{ID: "c1", Name: "shell", Image: "docker.io/library/busybox:1.36", Runtime: "runc", Bundle: "/b", Type: "container", SandboxID: "s1", Manager: "containerd", PodName: "p", PodNamespace: "default", PodUID: "u1", PodLabels: map[string]string{"app.kubernetes.io/name": "web", "app": "a"}, ImageDigest: "sha256:00", RuntimeHandler: "runc"},
		Caller:    Caller{PID: 42, Name: "containerd-shim", Executable: "/usr/bin/containerd-shim-runc-v2", Engine: "containerd-shim"},
		Cluster:   Cluster{ID: "cid", Name: "prod"},
		Problems:  []string{"plugin metadata: none"},
	}
	stdinShell := execFacts
	stdinShell.Process = Process{Known: true, Args: []string{"sh"}, Cwd: "/"}
	stdinShell.Stdin, stdinShell.StdinSource = StdinAttached, "pipe"
	stdinShell.Container.PodLabels = nil
	start := execFacts
	start.Operation, start.Subcommand, start.ExecID, start.ExecKind = OpContainerStart, "create", "", ""
	unknown := Facts{Operation: OpUnknown, Container: Container{ID: "c1", Runtime: "runc"}, Problems: []string{"command line: bad"}}
	unread := execFacts
	unread.Process = Process{}
	long := execFacts
	long.Process.Args = slices.Repeat([]string{strings.Repeat("a", maxArgBytes+10)}, maxArgs+3)
	at := time.Unix(1700000000, 123456789)
	host := Host{Name: "node-1", ID: "m1"}
	out := map[string]Record{}
	for name, f := range map[string]Facts{"exec": execFacts, "stdin-shell": stdinShell, "container-start": start, "unknown": unknown, "unread-spec": unread, "truncated": long, "empty": {}} {
		out[name] = Record{Facts: f, Host: host, Time: at, Policy: Policy{FailMode: FailOpen}}
	}
	withErr := out["exec"]
	withErr.Policy.Err = "policy /p: invalid"
	out["policy-error"] = withErr
	return out
}

// jsonDocument is the document as Elasticsearch reads it: members and the
// event object, decoded.
func jsonDocument(t *testing.T, doc *document) map[string]any {
	t.Helper()
	var m map[string]any
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var ev any
	b, err = json.Marshal(&doc.Event)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	m["event"] = ev
	var ds any
	if b, err = json.Marshal(&doc.DataStream); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ds); err != nil {
		t.Fatal(err)
	}
	m["data_stream"] = ds
	return m
}

// fieldNames lists the dotted names of every value in a decoded document,
// with objects, missing and partial names beside them.
func fieldNames(m map[string]any) []string {
	known := map[string]bool{}
	collectFields(m, "", known)
	names := []string{"event", "process", "process.entry_leader", "orchestrator.resource.label", "process.nope", "nope", "process.args.x", "event.kind.x"}
	for n := range known {
		names = append(names, n)
		// The flattened form of a dotted label key.
		if i := strings.Index(n, "app.kubernetes.io/name"); i > 0 {
			names = append(names, n[:i]+"app.kubernetes.io/name")
		}
	}
	sort.Strings(names)
	return names
}

func sortedValues(vs []any) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprintf("%T %#v", v, v)
	}
	sort.Strings(out)
	return out
}

func checkSameFields(t *testing.T, want map[string]any, got Fields) {
	t.Helper()
	jd, fd := eql.Prepare(want), eql.FromSource(got)
	for _, name := range fieldNames(want) {
		w, g := sortedValues(jd.Values(name)), sortedValues(fd.Values(name))
		if !slices.Equal(w, g) {
			t.Errorf("%s: fields give %v, the JSON document %v", name, g, w)
		}
	}
}

// TestRuleFieldsSameAsDocument holds what rules read from the typed
// document to what they read from the decoded JSON, field by field: for
// every kind of event, and for a document with every member set.
func TestRuleFieldsSameAsDocument(t *testing.T) {
	for name, r := range records() {
		t.Run(name, func(t *testing.T) {
			want, err := EventDocument(r)
			if err != nil {
				t.Fatal(err)
			}
			checkSameFields(t, want, RuleFields(r))
		})
	}
	t.Run("every-member", func(t *testing.T) {
		doc := fullDocument(t)
		want := jsonDocument(t, doc)
		if len(fieldNames(want)) < 60 {
			t.Fatalf("only %d fields in the full document", len(fieldNames(want)))
		}
		checkSameFields(t, want, Fields{doc: doc})
	})
}

// TestMarshalSameAsJSON holds the documents' encoder to encoding/json, byte
// for byte.
func TestMarshalSameAsJSON(t *testing.T) {
	check := func(t *testing.T, v any) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("marshal:\n%s\nencoding/json:\n%s", got, want)
		}
	}
	for name, r := range records() {
		t.Run(name, func(t *testing.T) {
			doc := newDocument(r)
			check(t, doc)
			check(t, &doc.Event)
		})
	}
	t.Run("every-member", func(t *testing.T) {
		doc := fullDocument(t)
		check(t, doc)
		check(t, &doc.Event)
	})
	t.Run("strings", func(t *testing.T) {
		var all []string
		for b := range 256 {
			all = append(all, string([]byte{byte(b)}), "a"+string([]byte{byte(b)})+"z")
		}
		all = append(all, "\u2028\u2029\ufffd\U0001F600", "\xed\xa0\x80", "\xf4\x90\x80\x80", "é\xc3", "")
		check(t, all)
		check(t, map[string]string{"<k>": "v", "a.b": "\xff", "": ""})
	})
	t.Run("rule-alert-members", func(t *testing.T) {
		ref := func(id string) ThreatRef {
			return ThreatRef{ID: id, Name: "name <" + id + ">", Reference: "https://attack.mitre.org/" + id + "?a=1&b=2"}
		}
		for _, ra := range []RuleAlert{
			{ID: "r1", Name: "plain"},
			{ID: "r2", Name: "n\u2028", Description: " d\n", Severity: "high", RiskScore: 73, Category: "Execution", References: []string{"u1", "u2"},
				Threat: []Threat{
					{Framework: "MITRE ATT&CK", Tactic: ref("TA0002"), Techniques: []Technique{{ThreatRef: ref("T1059"), Subtechniques: []ThreatRef{ref("T1059.004")}}, {ThreatRef: ref("T1609")}}},
					{Framework: "MITRE ATT&CK", Tactic: ref("TA0004")},
				}},
		} {
			doc := ra.membersDoc()
			check(t, doc)
			if bad := notPlain(reflect.TypeOf(doc)); bad != "" {
				t.Errorf("rule alert members: %s is left to encoding/json", bad)
			}
		}
	})
	t.Run("methods-inside-unnamed-types", func(t *testing.T) {
		ts := time.Unix(2, 5).UTC()
		check(t, struct {
			A struct {
				T  time.Time  `json:"t"`
				P  *time.Time `json:"p"`
				N  *time.Time `json:"n,omitempty"`
				S  []time.Time
				M  map[string]*time.Time
				PM ptrMarshaler
			} `json:"a"`
			E struct{ time.Time }
		}{})
		v := struct {
			A struct {
				T  time.Time  `json:"t"`
				P  *time.Time `json:"p"`
				S  []time.Time
				M  map[string]*time.Time
				PM ptrMarshaler
				PP *ptrMarshaler
			} `json:"a"`
			E struct{ time.Time }
		}{}
		v.A.T, v.A.P, v.A.S, v.A.M, v.A.PP, v.E.Time = ts, &ts, []time.Time{ts}, map[string]*time.Time{"k": &ts}, &ptrMarshaler{}, ts
		check(t, v)
		check(t, &v)
	})
	t.Run("other-types", func(t *testing.T) {
		type embedded struct{ A string }
		check(t, struct {
			embedded
			T  time.Time
			F  float64 `json:"f"`
			F3 float32
			B  []byte
			S  int `json:",string"`
			N  json.Number
			M  map[int]string
			I  any
			Z  struct{ X int } `json:"z,omitzero"`
		}{embedded{"a"}, time.Unix(1, 0).UTC(), 1.5, 0.1, []byte("xy"), 3, "12", map[int]string{2: "b"}, []int{1}, struct{ X int }{}})
	})
}

// TestCollectSameAsDocument holds the field names read from the typed
// document (what EventFields offers rules) to those of the decoded JSON.
func TestCollectSameAsDocument(t *testing.T) {
	check := func(t *testing.T, want map[string]any, f Fields) {
		t.Helper()
		w, g := map[string]bool{}, map[string]bool{}
		collectFields(want, "", w)
		f.collect(g)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("typed names %v\nJSON names %v", sortedKeys(g), sortedKeys(w))
		}
	}
	for name, r := range records() {
		t.Run(name, func(t *testing.T) {
			want, err := EventDocument(r)
			if err != nil {
				t.Fatal(err)
			}
			check(t, want, RuleFields(r))
		})
	}
	t.Run("every-member", func(t *testing.T) {
		doc := fullDocument(t)
		check(t, jsonDocument(t, doc), Fields{doc: doc})
	})
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// notPlain names a struct type within t that the tag-walk encoder hands to
// encoding/json, "" when there is none.
func notPlain(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return notPlain(t.Elem())
	case reflect.Struct:
		ti := infoOf(t)
		if !ti.plain || customJSON(reflect.New(t).Elem(), ti) {
			return t.String()
		}
		for _, jf := range ti.fields {
			if bad := notPlain(t.Field(jf.index).Type); bad != "" {
				return bad
			}
		}
	}
	return ""
}

// ptrMarshaler encodes itself through its pointer only.
type ptrMarshaler struct{ X int }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(`"custom"`), nil }
