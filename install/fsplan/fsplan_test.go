package fsplan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnified(t *testing.T) {
	for _, tc := range []struct {
		name, a, b, want string
	}{
		{"equal", "x\n", "x\n", ""},
		{"one line changed", "a\nb\nc\n", "a\nB\nc\n", "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"new file", "", "a\nb\n", "@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"removed file", "a\n", "", "@@ -1 +0,0 @@\n-a\n"},
		{"no final newline", "a\n", "a\nb", "@@ -1 +1,2 @@\n a\n+b\n\\ No newline at end of file\n"},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\nX\n3\n4\n5\n6\n7\n8\nY\n10\n",
			"@@ -1,3 +1,3 @@\n 1\n-2\n+X\n 3\n@@ -8,3 +8,3 @@\n 8\n-9\n+Y\n 10\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := 1
			if got := Unified(tc.a, tc.b, ctx); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func tree(t *testing.T, h Host) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(h.Root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == h.Root {
			return nil
		}
		rel, _ := filepath.Rel(h.Root, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			tgt, _ := os.Readlink(p)
			out[rel] = "-> " + tgt
		case fi.IsDir():
			out[rel] = "dir"
		default:
			b, _ := os.ReadFile(p)
			out[rel] = fi.Mode().Perm().String() + " " + string(b)
		}
		return nil
	})
	return out
}

func TestApplyAndRestore(t *testing.T) {
	h := Host{Root: t.TempDir()}
	os.MkdirAll(h.Local("/etc/app"), 0o755)
	os.WriteFile(h.Local("/etc/app/a.conf"), []byte("old\n"), 0o640)
	before := tree(t, h)
	store := Store{Host: h, Dir: "/var/lib/x/backup"}
	changes := []Change{
		{Path: "/etc/app/a.conf", Want: State{Kind: File, Data: []byte("new\n"), Mode: 0o640}},
		{Path: "/etc/app/conf.d/b.conf", Want: State{Kind: File, Data: []byte("b\n"), Mode: 0o644}},
		{Path: "/usr/local/bin/link", Want: State{Kind: Symlink, Target: "target"}},
	}
	plan, err := h.Plan(changes)
	if err != nil || len(plan.Steps) != 3 {
		t.Fatalf("plan %d steps, %v", len(plan.Steps), err)
	}
	if d := plan.Diff(); !strings.Contains(d, "-old\n+new\n") || !strings.Contains(d, "--- /dev/null\n+++ /etc/app/conf.d/b.conf") ||
		!strings.Contains(d, "/usr/local/bin/link: absent -> symlink to target") {
		t.Errorf("diff:\n%s", d)
	}
	if err := store.Apply(plan, map[string]Meta{"/etc/app/a.conf": {Group: "g"}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(h.Local("/etc/app/a.conf")); string(b) != "new\n" {
		t.Errorf("a.conf = %q", b)
	}
	if b, _ := os.ReadFile(h.Local(store.BackupPath("/etc/app/a.conf"))); string(b) != "old\n" {
		t.Errorf("backup = %q", b)
	}
	// A second plan for the same changes is empty.
	if again, _ := h.Plan(changes); !again.Empty() {
		t.Errorf("second plan not empty: %s", again.Diff())
	}
	// A later change keeps the first prior state.
	p2, _ := h.Plan([]Change{{Path: "/etc/app/a.conf", Want: State{Kind: File, Data: []byte("newer\n"), Mode: 0o640}}})
	if err := store.Apply(p2, nil); err != nil {
		t.Fatal(err)
	}
	j, ok, err := store.Load()
	if err != nil || !ok || len(j.Entries) != 3 {
		t.Fatalf("journal %+v %v %v", j, ok, err)
	}
	e, _ := j.Entry("/etc/app/a.conf")
	prior, err := store.PriorState(e)
	if err != nil || string(prior.Data) != "old\n" || prior.Mode != 0o640 || e.Group != "g" {
		t.Errorf("prior %q %v %v, group %q", prior.Data, prior.Mode, err, e.Group)
	}

	var restore []Change
	var done []string
	for _, e := range j.Entries {
		st, err := store.PriorState(e)
		if err != nil {
			t.Fatal(err)
		}
		restore = append(restore, Change{Path: e.Path, Want: st})
		done = append(done, e.Path)
	}
	rp, _ := h.Plan(restore)
	if err := store.Restore(rp, done); err != nil {
		t.Fatal(err)
	}
	after := tree(t, h)
	if len(after) != len(before) {
		t.Errorf("tree after restore:\n%v\nbefore:\n%v", after, before)
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: %q, want %q", k, after[k], v)
		}
	}
}

func TestApplyUndoesOnFailure(t *testing.T) {
	h := Host{Root: t.TempDir()}
	os.MkdirAll(h.Local("/etc"), 0o755)
	os.WriteFile(h.Local("/etc/a"), []byte("a\n"), 0o644)
	before := tree(t, h)
	store := Store{Host: h, Dir: "/var/backup"}
	plan, err := h.Plan([]Change{
		{Path: "/etc/a", Want: State{Kind: File, Data: []byte("changed\n"), Mode: 0o644}},
		{Path: "/etc/new/b", Want: State{Kind: File, Data: []byte("b"), Mode: 0o644}},
		// A state Put cannot make: fails after the first two changes.
		{Path: "/etc/c", Want: State{Kind: "bogus"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = store.Apply(plan, nil)
	if err == nil || !strings.Contains(err.Error(), "/etc/c") {
		t.Fatalf("Apply = %v, want an error naming /etc/c", err)
	}
	after := tree(t, h)
	if len(after) != len(before) {
		t.Errorf("tree after failure:\n%v\nwant\n%v", after, before)
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: %q, want %q", k, after[k], v)
		}
	}
}

func TestHostResolveUnderRoot(t *testing.T) {
	h := Host{Root: t.TempDir()}
	os.MkdirAll(h.Local("/usr/sbin"), 0o755)
	os.WriteFile(h.Local("/usr/sbin/runc"), []byte("#!/bin/sh\n"), 0o755)
	os.MkdirAll(h.Local("/usr/bin"), 0o755)
	// An absolute link target must resolve under Root, not on this machine.
	os.Symlink("/usr/sbin/runc", h.Local("/usr/bin/runc"))
	if p, err := h.Resolve("/usr/bin/runc"); err != nil || p != "/usr/sbin/runc" {
		t.Errorf("Resolve = %q, %v", p, err)
	}
	if p, err := h.LookPath("runc"); err != nil || p != "/usr/sbin/runc" {
		t.Errorf("LookPath = %q, %v (PATH order puts /usr/sbin first)", p, err)
	}
	if _, err := h.LookPath("crun"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("LookPath(crun) = %v", err)
	}
	os.WriteFile(h.Local("/usr/bin/noexec"), []byte("x"), 0o644)
	if _, err := h.LookPath("/usr/bin/noexec"); err == nil || !strings.Contains(err.Error(), "not executable") {
		t.Errorf("LookPath(noexec) = %v", err)
	}
}
