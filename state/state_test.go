package state

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
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

// TestUntrustedRecords: the attack of a writer of the state directory who
// is not root. A record or mark it wrote (another owner, group or world
// writable, a link, a FIFO) is refused with the reason, never read; a FIFO
// does not hang the reader.
func TestUntrustedRecords(t *testing.T) {
	forged := `{"id":"c","name":"app","pod_name":"web","pod_namespace":"ci-runners","pod_labels":{"debug":"true"}}`
	tests := []struct {
		name  string
		make  func(t *testing.T, path string)
		want  string
		asNon bool // needs root to give the file away
	}{
		{"world writable", func(t *testing.T, p string) { writeMode(t, p, forged, 0o666) }, "writable by group or others", false},
		{"group writable", func(t *testing.T, p string) { writeMode(t, p, forged, 0o620) }, "writable by group or others", false},
		{"owned by nobody", func(t *testing.T, p string) {
			writeMode(t, p, forged, 0o600)
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "owned by uid 65534", true},
		{"symbolic link", func(t *testing.T, p string) {
			target := filepath.Join(t.TempDir(), "r.json")
			writeMode(t, target, forged, 0o600)
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		}, "symbolic link", false},
		{"fifo", func(t *testing.T, p string) {
			if err := unix.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.asNon && os.Geteuid() != 0 {
				t.Skip("needs root to give the file away")
			}
			dir := t.TempDir()
			for _, sub := range []string{containersDir, coveredDir} {
				if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
					t.Fatal(err)
				}
			}
			rec, _ := ContainerPath(dir, "c")
			tt.make(t, rec)
			c, ok, err := ReadContainer(dir, "c")
			if err == nil || ok || !strings.Contains(err.Error(), tt.want) || c.PodNamespace != "" {
				t.Errorf("ReadContainer = %+v, %v, %v; want refused: %s", c, ok, err, tt.want)
			}
			mark, _ := CoveredPath(dir, "c")
			tt.make(t, mark)
			if m, ok, err := ReadMark(dir, "c"); err == nil || ok || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadMark = %+v, %v, %v; want refused: %s", m, ok, err, tt.want)
			}
		})
	}
}

func writeMode(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
