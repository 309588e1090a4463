package state

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestContainerRecords(t *testing.T) {
	dir := t.TempDir()
	c := Container{ID: "abc", Name: "shell", PodName: "web", PodNamespace: "prod", PodUID: "u",
		PodLabels: map[string]string{"app": "web", "team": "x"}, Image: "busybox:1", ImageDigest: "sha256:1", RuntimeHandler: "runc"}
	if err := WriteContainer(dir, c); err != nil {
		t.Fatal(err)
	}
	got, ok, err := ReadContainer(dir, "abc")
	if err != nil || !ok || !reflect.DeepEqual(got, c) {
		t.Fatalf("ReadContainer = %+v, %v, %v", got, ok, err)
	}
	if ids, err := ListContainers(dir); err != nil || len(ids) != 1 || ids[0] != "abc" {
		t.Fatalf("ListContainers = %v, %v", ids, err)
	}
	if err := RemoveContainer(dir, "abc"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := ReadContainer(dir, "abc"); ok || err != nil {
		t.Fatalf("record still there: %v, %v", ok, err)
	}
	if err := RemoveContainer(dir, "abc"); err != nil {
		t.Errorf("removing a missing record: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "containers"))
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestCoverage(t *testing.T) {
	dir := t.TempDir()
	if ok, err := Covered(dir, "x"); ok || err != nil {
		t.Fatalf("Covered before mark = %v, %v", ok, err)
	}
	want := Mark{EntityID: "e1", Time: "2026-11-26T23:00:00Z", Interactive: true}
	if err := MarkCovered(dir, "x", want); err != nil {
		t.Fatal(err)
	}
	if ok, err := Covered(dir, "x"); !ok || err != nil {
		t.Fatalf("Covered after mark = %v, %v", ok, err)
	}
	if m, ok, err := ReadMark(dir, "x"); !ok || err != nil || m != want {
		t.Fatalf("ReadMark = %+v, %v, %v", m, ok, err)
	}
	if ids, err := ListCovered(dir); err != nil || len(ids) != 1 || ids[0] != "x" {
		t.Fatalf("ListCovered = %v, %v", ids, err)
	}
	if err := RemoveCovered(dir, "x"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := Covered(dir, "x"); ok {
		t.Fatal("mark not removed")
	}
}

func TestIDsNeverEscape(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"", ".", "..", "../x", "a/b", "/abs", "x\x00y", strings.Repeat("a", 300)} {
		if err := WriteContainer(dir, Container{ID: id}); err == nil {
			t.Errorf("WriteContainer(%q) succeeded", id)
		}
		if err := MarkCovered(dir, id, Mark{}); err == nil {
			t.Errorf("MarkCovered(%q) succeeded", id)
		}
		if _, _, err := ReadContainer(dir, id); err == nil {
			t.Errorf("ReadContainer(%q) succeeded", id)
		}
	}
}

func TestUnwritableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	err := WriteContainer(file, Container{ID: "a"})
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("err = %v, want it to name the path", err)
	}
}
