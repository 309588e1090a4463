package state

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func sampleRecords() []Container {
	return []Container{
		{},
		{ID: "c1"},
		{
			ID: strings.Repeat("ab", 32), Name: "app", SandboxID: strings.Repeat("5f", 32),
			PodName: "web-7d9f8c6b5-x2k4q", PodNamespace: "demo", PodUID: "1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718",
			PodLabels: map[string]string{"app": "web", "pod-template-hash": "7d9f8c6b5", "": "empty key"},
			Image:     "docker.io/library/nginx:1.27", ImageDigest: "sha256:0123", RuntimeHandler: "runc",
		},
		{ID: "c2", PodLabels: map[string]string{}},
		{ID: "c3", Name: "<script>\"quoted\"\\ \u2028 \x01 é 日本", PodLabels: map[string]string{"k\x7f": "v\t\n"}},
	}
}

// The plugin's own records take the token-by-token path: were they to fall
// back, every decision would pay for encoding/json again.
func TestPluginRecordsDecodedWithoutEncodingJSON(t *testing.T) {
	for _, c := range sampleRecords() {
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := decodeRecordFast(data)
		if !ok {
			t.Errorf("%s: left to encoding/json", data)
			continue
		}
		var want Container // c but for omitted empty labels
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", data, got, want)
		}
	}
}

func TestDecodeContainerSameAsJSON(t *testing.T) {
	for _, doc := range recordEdgeCases() {
		t.Run(doc, func(t *testing.T) { checkSameAsJSON(t, []byte(doc)) })
	}
}

func FuzzDecodeContainerSameAsJSON(f *testing.F) {
	for _, c := range sampleRecords() {
		data, _ := json.Marshal(c)
		f.Add(data)
	}
	for _, doc := range recordEdgeCases() {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkSameAsJSON(t, data) })
}

func checkSameAsJSON(t *testing.T, data []byte) {
	t.Helper()
	var want Container
	wantErr := json.Unmarshal(data, &want)
	got, err := decodeContainer(data)
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("%q: error %v, encoding/json's %v", data, err, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: got %#v, encoding/json's %#v", data, got, want)
	}
}

// recordEdgeCases are documents json.Unmarshal reads in ways a reader of
// the plugin's shape alone could get wrong.
func recordEdgeCases() []string {
	return []string{
		`null`, `[]`, `"x"`, `{}`, ` {} `, `{}x`, `{} {}`, `{`, `{"id":"c"`, ``,
		`{"id":null}`, `{"id":1}`, `{"id":true}`, `{"id":{}}`,
		`{"ID":"upper"}`, `{"Id":"c","id":"d"}`, `{"id":"c","ID":"d"}`,
		`{"\u0069d":"escaped key"}`, `{"ſandbox_id":"long s"}`, `{"pod_labelſ":{"a":"b"}}`,
		`{"id":"a","id":"b"}`,
		`{"pod_labels":{"a":"1"},"pod_labels":{"b":"2"}}`,
		`{"pod_labels":{"a":"1","a":"2"}}`,
		`{"pod_labels":null}`, `{"pod_labels":{"a":null}}`, `{"pod_labels":{"a":1}}`, `{"pod_labels":[]}`,
		`{"unknown":{"nested":[1,{"id":"not this"}]},"id":"c"}`,
		"{\"id\":\"bad \xff utf8\"}", "{\"pod_labels\":{\"\xfe\":\"\xff\"}}",
		`{"id":"\ud800"}`, `{"id":"a\u0000b"}`,
		"\xef\xbb\xbf{}", `{"id":"c",}`, `{"id":"c"/* comment */}`, `{'id':'c'}`,
		`{"id":"c"} `, "{\"id\":\"c\"}\n",
	}
}
