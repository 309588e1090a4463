package ocispec

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
)

// errClass is what a caller decides on of an error.
func errClass(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, ErrAmbiguous):
		return "ambiguous"
	case errors.Is(err, ErrTooLarge):
		return "too large"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	}
	return "other"
}

// sameAsStd checks that both decoders read doc alike: the same Process and
// Config, or errors of the same class.
func sameAsStd(t *testing.T, doc []byte) {
	t.Helper()
	p, err := DecodeProcess(bytes.NewReader(doc))
	sp, serr := stdDecodeProcess(bytes.NewReader(doc))
	if errClass(err) != errClass(serr) || (err == nil && !reflect.DeepEqual(p, sp)) {
		t.Errorf("DecodeProcess(%q) = %+v, %v (%s); encoding/json's tokenizer: %+v, %v (%s)", doc, p, err, errClass(err), sp, serr, errClass(serr))
	}
	c, err := DecodeConfig(bytes.NewReader(doc))
	sc, serr := stdDecodeConfig(bytes.NewReader(doc))
	if errClass(err) != errClass(serr) || (err == nil && !reflect.DeepEqual(c, sc)) {
		t.Errorf("DecodeConfig(%q) = %+v, %v (%s); encoding/json's tokenizer: %+v, %v (%s)", doc, c, err, errClass(err), sc, serr, errClass(serr))
	}
}

// corpus is the specs captured from the runtimes and the fuzz corpora
// kept for this package and the runtime package.
func corpus(t testing.TB) map[string][]byte {
	docs := map[string][]byte{}
	files, _ := filepath.Glob("../testdata/runtime-calls/*/*.json")
	for _, f := range files {
		if b := filepath.Base(f); b != "process.json" && b != "config.json" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[f] = data
	}
	seeds, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, dir := range []string{"FuzzBundleConfig", "FuzzProcessSpec"} {
		more, _ := filepath.Glob(filepath.Join("../testdata/fuzz", dir, "*"))
		seeds = append(seeds, more...)
	}
	for _, f := range seeds {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := fuzzSeed(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		docs[f] = doc
	}
	if len(docs) < 20 {
		t.Fatalf("only %d documents found", len(docs))
	}
	return docs
}

// fuzzSeed reads a one-argument []byte corpus file of go test's fuzzing.
func fuzzSeed(data []byte) ([]byte, error) {
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		return nil, errors.New("not a one-value fuzz corpus file")
	}
	lit, ok := strings.CutPrefix(lines[1], "[]byte(")
	if !ok || !strings.HasSuffix(lit, ")") {
		return nil, errors.New("not a []byte value: " + lines[1])
	}
	s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// edgeDocs are where two JSON tokenizers are likeliest to differ.
var edgeDocs = []string{
	"{\"process\":{\"args\":[\"a\xffb\",\"\xc3\"],\"env\":[\"\xed\xa0\x80\"]}}",
	`{"process":{"args":["\ud800","\ud800\u0041","\udc00\ud800","\ud83d\ude00","\uD83D\uDE00x"]}}`,
	"{\"process\":{\"cwd\":\"/\xf0\x9f\"},\"annotations\":{\"k\xff\":\"v\xfe\"}}",
	`{"annotations":{"a\u0000":"b","a":"c"}}`,
	`{"annotations":{"\u0061":"b","a":"c"}}`,
	"{\"process\":{\"termin\xffal\":true}}",
	`{"process":{"\u0074erminal":true}}`,
	`{"process":{"\u0074erminal":true,"terminal":false}}`,
	`{"process":{"ter\u212Aminal":true}}`,
	`{"mounts":[{"a":1,"a":2}],"process":{"user":{"uid":1,"x":2,"x":3}}}`,
	`{"process":{"user":{"uid":0}},"process ":1,"PROCESS_":2}`,
	`{"process":{"user":{"uid":1e3}}}`,
	`{"process":{"user":{"uid":1.0}}}`,
	`{"process":{"user":{"uid":-0}}}`,
	`{"process":{"user":{"uid":0,"gid":4294967295}}}`,
	`{"process":{"user":{"uid":01}}}`,
	`{"process":{"user":{"uid":+1}}}`,
	`{"process":{"user":{"uid":"1"}}}`,
	`{"process":{"user":{"uid":null}}}`,
	`{"process":{"consoleSize":{"height":1,"width":1,"Width":2}}}`,
	`{"process":{"consoleSize":null,"user":{}}}`,
	`{"process":{"terminal":true}}` + "\n\t ",
	`{"process":{"terminal":true}}x`,
	`{"process":{"terminal":true}}]`,
	`{"process":{"terminal":true}}{}`,
	`{"process":{"terminal":true}} null`,
	"\ufeff{\"process\":{}}",
	`{"process":{"terminal":true},}`,
	`{"process":{"args":["a",]}}`,
	`{"process":{"args":["a"]]}}`,
	`{"process":{"terminal":TRUE}}`,
	`{"process":{"terminal":true} // comment` + "\n}",
	`{'process':{}}`,
	`{"process":{"terminal":true,"args":"sh"}}`,
	`{"process":{"args":[null]}}`,
	`{"process":{"env":{}}}`,
	`{"process":[]}`,
	`{"process":"x"}`,
	`{"annotations":[]}`,
	`{"annotations":{"a":1}}`,
	`{"annotations":{"a":null}}`,
	`{"annotations":null,"annotations":{}}`,
	`{"mounts":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `,"process":{}}`,
	`{"mounts":` + strings.Repeat("[", 9990) + strings.Repeat("]", 9990) + `,"process":{}}`,
	`{"mounts":[1,2,3e999,-0.0e-1,"\"\\\/\b\f\n\r\t"],"process":{}}`,
	"{\"mounts\":\"a\tb\",\"process\":{}}",
	"{\"process\":{\"cwd\":\"a\x00b\"}}",
	"{\"process\":{\"cwd\":\"\\x\"}}",
	"{\"process\":{\"cwd\":\"\\u12\"}}",
	`{"process":{"terminal":true`,
	`{"process":{"args":["sh`,
	`{"process":{"args":["sh\`,
	`{"process":{"args":["\ud83d`,
	"{\"process\":{\"args\":[\"\xf0\x9f",
	``,
	` `,
	`null`,
	`{}`,
	`{"terminal":true,"process":{"terminal":true}}`,
}

// TestSameAsEncodingJSON: on the captured specs, the fuzz corpora and the
// edge cases, the decoder reads what it read on encoding/json's tokenizer.
func TestSameAsEncodingJSON(t *testing.T) {
	for name, doc := range corpus(t) {
		t.Run(name, func(t *testing.T) { sameAsStd(t, doc) })
	}
	for i, doc := range edgeDocs {
		t.Run("edge"+strconv.Itoa(i), func(t *testing.T) { sameAsStd(t, []byte(doc)) })
	}
}

// FuzzSameAsEncodingJSON: as TestSameAsEncodingJSON, on any input.
func FuzzSameAsEncodingJSON(f *testing.F) {
	for _, doc := range corpus(f) {
		f.Add(doc)
	}
	for _, doc := range edgeDocs {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { sameAsStd(t, doc) })
}

// BenchmarkDecodeProcess reads a captured containerd exec's process spec,
// as the wrapper does on each exec.
func BenchmarkDecodeProcess(b *testing.B) {
	benchDecode(b, "../testdata/runtime-calls/containerd-v2-exec-tty/process.json", func(doc []byte) error {
		_, err := DecodeProcess(bytes.NewReader(doc))
		return err
	})
}

// BenchmarkStdDecodeProcess is the same read on encoding/json's tokenizer.
func BenchmarkStdDecodeProcess(b *testing.B) {
	benchDecode(b, "../testdata/runtime-calls/containerd-v2-exec-tty/process.json", func(doc []byte) error {
		_, err := stdDecodeProcess(bytes.NewReader(doc))
		return err
	})
}

// BenchmarkStdDecodeConfig is BenchmarkDecodeConfig on encoding/json's
// tokenizer.
func BenchmarkStdDecodeConfig(b *testing.B) {
	benchDecode(b, "../testdata/runtime-calls/containerd-v2-create-tty-container/config.json", func(doc []byte) error {
		_, err := stdDecodeConfig(bytes.NewReader(doc))
		return err
	})
}

func benchDecode(b *testing.B, file string, decode func([]byte) error) {
	doc, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if err := decode(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReadErrorIsNoMalformedSpec: a spec that cannot be read is a fault of
// the reading, not a hostile document, on both tokenizers.
func TestReadErrorIsNoMalformedSpec(t *testing.T) {
	readErr := &fs.PathError{Op: "read", Path: "config.json", Err: syscall.EIO}
	reader := func() io.Reader {
		return io.MultiReader(strings.NewReader(`{"process":{"args":["sh"`), iotest.ErrReader(readErr))
	}
	for _, tt := range []struct {
		name   string
		decode func(io.Reader) error
	}{
		{"DecodeConfig", func(r io.Reader) error { _, err := DecodeConfig(r); return err }},
		{"stdDecodeConfig", func(r io.Reader) error { _, err := stdDecodeConfig(r); return err }},
		{"DecodeProcess", func(r io.Reader) error { _, err := DecodeProcess(r); return err }},
		{"stdDecodeProcess", func(r io.Reader) error { _, err := stdDecodeProcess(r); return err }},
	} {
		err := tt.decode(reader())
		if !errors.Is(err, syscall.EIO) || errClass(err) != "other" {
			t.Errorf("%s = %v (%s), want the read error, not a spec's", tt.name, err, errClass(err))
		}
	}
}
