package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/execguard/execguard/install"
)

// fakeNode is a host root with containerd 2.x's default configuration, a
// fake runc and the binaries to install.
func fakeNodeRoot(t *testing.T) (root string, args []string) {
	t.Helper()
	root = t.TempDir()
	write := func(p, content string, mode os.FileMode) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	def, err := os.ReadFile("../../install/containerd/testdata/containerd-2.2.9-default.toml")
	if err != nil {
		t.Fatal(err)
	}
	write("/etc/containerd/config.toml", string(def), 0o644)
	write("/usr/sbin/runc", "#!/bin/sh\n", 0o755)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "w"), []byte("wrapper"), 0o755)
	os.WriteFile(filepath.Join(src, "p"), []byte("plugin"), 0o755)
	os.WriteFile(filepath.Join(src, "s"), []byte("shim"), 0o755)
	return root, []string{"--root", root, "--containerd-major", "2", "--wrapper", filepath.Join(src, "w"), "--plugin", filepath.Join(src, "p"),
		"--shim-binary", filepath.Join(src, "s")}
}

// nodeCall runs an execguard command; errOut is what it wrote to stderr.
func nodeCall(args ...string) (code int, out, errOut string) {
	var o, e bytes.Buffer
	code = run(args, strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

func nodeTree(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		data := ""
		if fi.Mode().IsRegular() {
			d, _ := os.ReadFile(p)
			data = string(d)
		}
		b.WriteString(p + " " + fi.Mode().String() + " " + data + "\n")
		return nil
	})
	return b.String()
}

func TestInstallStatusUninstallCommands(t *testing.T) {
	for _, tc := range []struct {
		front     []string // install flags
		installed string   // what install reports
		status    string   // what status reports
	}{
		{nil, "containerd handler runc: shim /usr/local/bin/containerd-shim-execguard-v2 -> /usr/sbin/runc",
			"handler runc: shim /usr/local/bin/containerd-shim-execguard-v2 (io.containerd.runc.v2) -> /usr/sbin/runc (shim front)"},
		{[]string{"--front", "wrapper"}, "containerd handler runc: /usr/local/bin/execguard-runc -> /usr/sbin/runc",
			"handler runc: /usr/local/bin/execguard-runc -> /usr/sbin/runc (wrapper front)"},
		{[]string{"--front", "shim", "--shim-runtime-type", "io.containerd.execguard.v2"}, "containerd handler runc: shim /usr/local/bin/containerd-shim-execguard-v2 -> /usr/sbin/runc",
			"handler runc: shim /usr/local/bin/containerd-shim-execguard-v2 (io.containerd.execguard.v2) -> /usr/sbin/runc (shim front)"},
	} {
		t.Run(strings.Join(append([]string{"front"}, tc.front...), " "), func(t *testing.T) {
			root, args := fakeNodeRoot(t)
			args = append(args, tc.front...)
			before := nodeTree(t, root)
			noPlugin := func(a []string) []string { return append(append([]string{}, a...), "--nri", "none") }

			code, out, errOut := nodeCall(append([]string{"install", "--dry-run"}, noPlugin(args)...)...)
			if code != 0 || errOut != "" || !strings.Contains(out, "+++ /etc/containerd/conf.d/99-execguard.toml") || !strings.Contains(out, "dry run") {
				t.Fatalf("dry run: %d %s\n%s", code, errOut, out)
			}
			if nodeTree(t, root) != before {
				t.Fatal("dry run wrote")
			}
			code, out, errOut = nodeCall(append([]string{"install"}, noPlugin(args)...)...)
			if code != 0 || errOut != "" || !strings.Contains(out, tc.installed) || !strings.Contains(out, "restart containerd") {
				t.Fatalf("install: %d %s\n%s", code, errOut, out)
			}
			code, out, _ = nodeCall(append([]string{"install"}, noPlugin(args)...)...)
			if code != 0 || !strings.Contains(out, "nothing to change") {
				t.Errorf("second install: %d\n%s", code, out)
			}

			statusArgs := []string{"--root", root, "--containerd-major", "2"}
			code, out, errOut = nodeCall(append([]string{"status"}, statusArgs...)...)
			if code != exitNode || errOut != "" || !strings.Contains(out, tc.status) ||
				!strings.Contains(out, "plugin:      unknown (no status file") {
				t.Errorf("status: %d %s\n%s", code, errOut, out)
			}
			code, out, _ = nodeCall(append([]string{"status", "--json"}, statusArgs...)...)
			var st install.Status
			if err := json.Unmarshal([]byte(out), &st); err != nil || !st.Installed || len(st.Engines) != 1 || !st.Engines[0].Configured() {
				t.Errorf("status --json (%d): %v\n%s", code, err, out)
			}

			code, out, errOut = nodeCall(append([]string{"uninstall"}, statusArgs...)...)
			if code != 0 || errOut != "" {
				t.Fatalf("uninstall: %d %s\n%s", code, errOut, out)
			}
			if after := nodeTree(t, root); after != before {
				t.Errorf("tree after uninstall differs:\n%s\nbefore:\n%s", after, before)
			}
		})
	}

	_, args := fakeNodeRoot(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"install", "--nope"}, exitUsage, "unknown flag: --nope"},
		{append([]string{"install", "--nri", "sideways"}, args...), exitNode, "sideways"},
		{append([]string{"install", "--front", "shim", "--engine", "crio"}, args...), exitNode, "CRI-O has no shim front"},
		{append([]string{"install", "--front", "sideways"}, args...), exitNode, `front "sideways"`},
	} {
		if code, _, errOut := nodeCall(tc.args...); code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: %d %s, want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}
