package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedFileCurrent holds builtin_gen.go to what the generator writes now.
func TestGeneratedFileCurrent(t *testing.T) {
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../builtin_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("detect/eql/builtin_gen.go is not what the generator writes: run go generate ./detect/eql (make generate)")
	}
}
