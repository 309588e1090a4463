//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/install"
	"github.com/execguard/execguard/install/containerd"
	"github.com/execguard/execguard/install/fsplan"
	"github.com/execguard/execguard/test/node"
)

// installPaths lays every installer path out under dir, except the
// containerd configuration, which is the node's own.
func installPaths(dir, containerdConfig, containerdBinary string) install.Paths {
	return install.Paths{
		Root:             "/",
		Shim:             filepath.Join(dir, "bin", containerd.ShimBinary),
		Wrapper:          filepath.Join(dir, "bin", "execguard-runtime"),
		WrapperDir:       filepath.Join(dir, "bin"),
		CRIOWrapperDir:   filepath.Join(dir, "libexec"),
		Config:           filepath.Join(dir, "etc", "execguard", "config.toml"),
		Backup:           filepath.Join(dir, "backup"),
		ContainerdConfig: containerdConfig,
		ContainerdDropIn: filepath.Join(dir, "conf.d", "99-execguard.toml"),
		ContainerdBinary: containerdBinary,
		CRIOConfig:       filepath.Join(dir, "crio", "crio.conf"),
		CRIODropInDir:    filepath.Join(dir, "crio", "crio.conf.d"),
		PluginBinary:     filepath.Join(dir, "bin", "execguard-nri"),
		SystemdUnit:      filepath.Join(dir, "systemd", "execguard-nri.service"),
		PluginLog:        filepath.Join(dir, "log", "nri.log"),
	}
}

// TestInstallOnRealContainerd installs execguard into a real containerd's
// configuration, restarts it and checks that the wrapper sees execs and
// status says so; then uninstalls, restarts, and checks that the
// configuration is byte for byte what it was, that new containers no
// longer run through the wrapper, and that the containers created while it
// was installed keep it until they are gone.
func TestInstallOnRealContainerd(t *testing.T) {
	requirePrerequisites(t)
	ctx := context.Background()
	dir := t.TempDir()
	containerdBin, err := lookPath("containerd")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src")
	opts := install.Options{
		Engines:       []string{install.Containerd},
		Front:         install.FrontWrapper,
		WrapperSource: buildCommand(t, "./cmd/execguard-runtime", filepath.Join(src, "execguard-runtime")),
		PluginSource:  buildCommand(t, "./cmd/execguard", filepath.Join(src, "execguard")),
	}
	paths := installPaths(dir, "", containerdBin)
	e := &env{t: t, dir: dir, configPath: paths.Config, eventLog: filepath.Join(dir, "log", "events.ndjson")}
	stateDir := filepath.Join(dir, "state")
	// The administrator's own settings; install adds [runtimes].
	userConfig := "# this node's execguard settings\nevent_log = \"" + e.eventLog + "\"\nstate_dir = \"" + stateDir + "\"\ninteractive_action = \"alert\"\n"
	if err := os.MkdirAll(filepath.Dir(paths.Config), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(paths.Config, []byte(userConfig), 0o644); err != nil {
		t.Fatal(err)
	}

	n, err := node.Start(ctx, node.Options{WrapperConfig: paths.Config})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	e.node = n
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("containerd log tail:\n%s", n.LogTail(40))
			if b, err := os.ReadFile(filepath.Join(stateDir, "..", "log", "nri.log")); err == nil {
				t.Logf("plugin log:\n%s", tail(string(b), 20))
			}
		}
		if err := n.Close(); err != nil {
			t.Errorf("close node: %v", err)
		}
	})
	paths.ContainerdConfig = n.ConfigFile()
	opts.Paths = paths
	original, err := os.ReadFile(n.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}

	// Before install: a container that runs real runc directly.
	_, before := e.startPod("before", "install", "app")

	res, err := install.Install(opts, false)
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	t.Logf("install:\n%s", res.Report(false))
	link := filepath.Join(dir, "bin", "execguard-runc")
	if len(res.Wired) != 1 || res.Wired[0].Wrapper != link || res.Wired[0].Runtime != realRunc {
		t.Fatalf("wired %+v", res.Wired)
	}
	installed, _ := os.ReadFile(n.ConfigFile())
	if want := strings.Replace(string(original), "imports = []", `imports = ["`+paths.ContainerdDropIn+`"]`, 1); string(installed) != want {
		t.Errorf("containerd config edit is more than the imports line:\n%s", fsplan.Unified(string(original), string(installed), 1))
	}
	if again, err := install.Install(opts, false); err != nil || !again.Plan.Empty() {
		t.Errorf("second install: %v\n%s", err, again.Plan.Diff())
	}

	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	_, during := e.startPod("during", "install", "app")
	mark := e.mark()
	if out, err := n.Exec(during, "echo", "seen"); err != nil || strings.TrimSpace(out) != "seen" {
		t.Fatalf("exec: %q %v", out, err)
	}
	if got := filter(e.since(mark), "event", "exec", during); len(got) != 1 {
		t.Fatalf("%d exec events for the container created after install, want 1", len(got))
	}
	// The one created before install still runs runc directly.
	mark = e.mark()
	if _, err := n.Exec(before, "true"); err != nil {
		t.Fatal(err)
	}
	if got := filter(e.since(mark), "event", "exec", before); len(got) != 0 {
		t.Errorf("the container created before install produced %d exec events", len(got))
	}

	// status: configured, NRI on, the pre-registered plugin connected and
	// its coverage: the wrapper in use by one of two running containers.
	var st install.Status
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err = install.GetStatus(opts)
		if err != nil {
			t.Fatal(err)
		}
		if st.Plugin.Connected && st.Plugin.Containers == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("status:\n%s", st.Text())
	eng := st.Engines[0]
	if !st.Installed || eng.Name != install.Containerd || eng.ConfigVersion != 3 || !eng.DropInActive || !strings.HasPrefix(eng.Version, "v2.") {
		t.Errorf("engine %+v", eng)
	}
	if len(eng.Handlers) != 1 || !eng.Handlers[0].Wrapped || eng.Handlers[0].Real != realRunc {
		t.Errorf("handlers %+v", eng.Handlers)
	}
	if !eng.NRI.Enabled || !eng.NRI.SocketPresent || eng.NRI.Registered != filepath.Join(n.NRIPluginDir, "10-execguard") {
		t.Errorf("NRI %+v", eng.NRI)
	}
	if !st.Plugin.Connected || st.Plugin.Covered != 1 || st.Plugin.Containers != 2 || len(st.Plugin.Uncovered) != 1 ||
		!strings.HasPrefix(before, strings.Fields(st.Plugin.Uncovered[0])[0]) {
		t.Errorf("plugin %+v: want connected, 1 of 2 covered, %s uncovered", st.Plugin, before)
	}
	if !st.EventLog.Writable || !st.Policy.Loaded {
		t.Errorf("event log %+v policy %+v", st.EventLog, st.Policy)
	}
	if !strings.Contains(st.Text(), "execguard covers 1 of 2 running containers") {
		t.Errorf("status text:\n%s", st.Text())
	}

	// Uninstall: the containerd configuration is back, byte for byte; the
	// wrapper stays for the container created through it.
	res, err = install.Uninstall(opts, false)
	if err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	t.Logf("uninstall:\n%s", res.Report(false))
	if got, _ := os.ReadFile(n.ConfigFile()); !bytes.Equal(got, original) {
		t.Errorf("containerd config after uninstall:\n%s", fsplan.Unified(string(original), string(got), 2))
	}
	if !slices.ContainsFunc(res.Notes, func(s string) bool { return strings.Contains(s, "k8s.io/"+during) }) {
		t.Errorf("uninstall notes %v: want the container that still uses the wrapper", res.Notes)
	}
	if _, err := os.Stat(link); err != nil {
		t.Errorf("wrapper removed while a container uses it: %v", err)
	}
	if _, err := os.Stat(filepath.Join(n.NRIPluginDir, "10-execguard")); err == nil {
		t.Error("pre-registered plugin still there")
	}
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	_, after := e.startPod("after", "install", "app")
	mark = e.mark()
	if _, err := n.Exec(after, "true"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Exec(during, "true"); err != nil {
		t.Fatal(err)
	}
	docs := e.since(mark)
	if got := filter(docs, "event", "exec", after); len(got) != 0 {
		t.Errorf("a container created after uninstall produced %d exec events", len(got))
	}
	if got := filter(docs, "event", "exec", during); len(got) != 1 {
		t.Errorf("the container created while installed produced %d exec events, want 1 (it keeps its runtime binary)", len(got))
	}

	// Once that container is gone, uninstall takes the rest.
	for _, pod := range []string{"during"} {
		out, err := n.Crictl("pods", "--name", pod, "-q")
		if err != nil {
			t.Fatal(err)
		}
		if err := n.RemovePod(strings.TrimSpace(out)); err != nil {
			t.Fatal(err)
		}
	}
	if res, err = install.Uninstall(opts, false); err != nil {
		t.Fatalf("second uninstall: %v\n%s", err, res.Report(false))
	}
	if got, _ := os.ReadFile(paths.Config); string(got) != userConfig {
		t.Errorf("execguard config after uninstall:\n%s", fsplan.Unified(userConfig, string(got), 2))
	}
	for _, p := range []string{filepath.Join(dir, "bin"), filepath.Join(dir, "backup"), filepath.Join(dir, "conf.d")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
	if got, _ := os.ReadFile(n.ConfigFile()); !bytes.Equal(got, original) {
		t.Error("containerd config changed by the second uninstall")
	}
}

// TestInstallMergesInContainerd installs into the configuration files of
// testdata and asks the real containerd (`config dump`) for the merged
// result. With the wrapper front it must differ from the one before only in
// the handlers' BinaryName and NRI's disable; with the shim front only in
// their runtime_type and runtime_path and NRI's disable; so every other
// setting the user wrote is kept. Each case then switches to the other
// front and back, and uninstalls byte for byte. containerd 1.x is checked
// too when EXECGUARD_CONTAINERD_1_7 names a containerd 1.7 binary (see
// install/README.md).
func TestInstallMergesInContainerd(t *testing.T) {
	requirePrerequisites(t)
	c2, err := lookPath("containerd")
	if err != nil {
		t.Fatal(err)
	}
	type tcase struct {
		name, binary, file string
		runtimes           []string
	}
	cases := []tcase{
		{"2.x default", c2, "containerd-2.2.9-default.toml", nil},
		{"2.x custom runtimes", c2, "custom-2.x.toml", []string{"runc", "crun"}},
		{"2.x reading a version 2 file", c2, "custom-1.7.toml", nil},
	}
	if c17 := os.Getenv("EXECGUARD_CONTAINERD_1_7"); c17 != "" {
		cases = append(cases, tcase{"1.7 default", c17, "containerd-1.7.35-default.toml", nil}, tcase{"1.7 custom", c17, "custom-1.7.toml", nil})
	} else {
		t.Log("EXECGUARD_CONTAINERD_1_7 not set: containerd 1.7 not checked")
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	// Stand-ins: config dump only reads the configuration.
	bin := t.TempDir()
	wrapper, shim := filepath.Join(bin, "execguard-runtime"), filepath.Join(bin, containerd.ShimBinary)
	for _, f := range []string{wrapper, shim} {
		if err := os.WriteFile(f, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	allowed := map[install.Front][]string{
		install.FrontWrapper: {"BinaryName", "disable", "imports"},
		install.FrontShim:    {"runtime_type", "runtime_path", "disable", "imports"},
	}
	for _, tc := range cases {
		for _, v := range []struct {
			front    install.Front
			shimType string // "" is the default, io.containerd.runc.v2
		}{{install.FrontWrapper, ""}, {install.FrontShim, ""}, {install.FrontShim, containerd.ShimType}} {
			front := v.front
			other := install.FrontShim
			if front == install.FrontShim {
				other = install.FrontWrapper
			}
			wantType := v.shimType
			if wantType == "" {
				wantType = containerd.RuncV2
			}
			t.Run(tc.name+", "+string(front)+" "+v.shimType, func(t *testing.T) {
				dir := t.TempDir()
				data, err := os.ReadFile(filepath.Join(root, "install", "containerd", "testdata", tc.file))
				if err != nil {
					t.Fatal(err)
				}
				// Keep the node's own drop-in directory out of the comparison.
				data = bytes.ReplaceAll(data, []byte("/etc/containerd/conf.d/*.toml"), []byte(filepath.Join(dir, "none.d", "*.toml")))
				main := filepath.Join(dir, "config.toml")
				if err := os.WriteFile(main, data, 0o644); err != nil {
					t.Fatal(err)
				}
				dump := func() []string {
					out, err := exec.Command(tc.binary, "--config", main, "config", "dump").Output()
					if err != nil {
						t.Fatalf("config dump: %v", err)
					}
					lines := strings.Split(string(out), "\n")
					// containerd 1.7 prints the files it loaded in map order.
					for i, l := range lines {
						if list, ok := strings.CutPrefix(l, "imports = ["); ok {
							items := strings.Split(strings.TrimSuffix(list, "]"), ", ")
							slices.Sort(items)
							lines[i] = "imports = [" + strings.Join(items, ", ") + "]"
						}
					}
					return lines
				}
				before := dump()
				opts := install.Options{Paths: installPaths(dir, main, tc.binary), Engines: []string{install.Containerd},
					Runtimes: tc.runtimes, WrapperSource: wrapper, ShimSource: shim, ShimRuntimeType: v.shimType, NRI: install.NRINone}
				// check installs with f and compares containerd's view with
				// the one before install.
				check := func(f install.Front) []string {
					t.Helper()
					opts.Front = f
					res, err := install.Install(opts, false)
					if err != nil {
						t.Fatal(err)
					}
					after := dump()
					changed := map[string]bool{}
					for _, l := range strings.Split(fsplan.Unified(strings.Join(before, "\n"), strings.Join(after, "\n"), 0), "\n") {
						if !strings.HasPrefix(l, "+") && !strings.HasPrefix(l, "-") {
							continue
						}
						body := strings.TrimSpace(l[1:])
						key, _, _ := strings.Cut(body, " =")
						changed[key] = true
						if !slices.Contains(allowed[f], key) {
							t.Errorf("%s front: config dump line changed by install: %s", f, l)
						}
					}
					has := func(line string) bool {
						return slices.ContainsFunc(after, func(l string) bool { return strings.Contains(strings.ReplaceAll(l, `"`, "'"), line) })
					}
					for _, w := range res.Wired {
						switch f {
						case install.FrontWrapper:
							if !has("BinaryName = '" + w.Wrapper + "'") {
								t.Errorf("config dump lacks BinaryName = '%s'", w.Wrapper)
							}
						case install.FrontShim:
							if !has("runtime_path = '"+w.Shim+"'") || !has("runtime_type = '"+wantType+"'") {
								t.Errorf("config dump lacks the shim's runtime_path %s and runtime_type", w.Shim)
							}
						}
					}
					if key := allowed[f][0]; !changed[key] && !(f == install.FrontShim && wantType == containerd.RuncV2) {
						t.Errorf("%s front: no %s changed", f, key)
					}
					if f == install.FrontShim && !changed["runtime_path"] {
						t.Errorf("shim front: no runtime_path changed")
					}
					return after
				}
				first := check(front)
				check(other)
				if again := check(front); !slices.Equal(again, first) {
					t.Errorf("back on the %s front, containerd loads:\n%s", front, fsplan.Unified(strings.Join(first, "\n"), strings.Join(again, "\n"), 1))
				}
				if _, err := install.Uninstall(opts, false); err != nil {
					t.Fatal(err)
				}
				if got, _ := os.ReadFile(main); !bytes.Equal(got, data) {
					t.Error("config not restored byte for byte")
				}
				for _, p := range []string{wrapper, shim} {
					if _, err := os.Stat(filepath.Join(dir, "bin", filepath.Base(p))); err == nil {
						t.Errorf("%s left behind", filepath.Base(p))
					}
				}
			})
		}
	}
}

// TestInstallShimFrontOnRealContainerd installs the shim front into a real
// containerd's configuration. containerd's own runc shim stands in for
// execguard's (to the installer the shim is a file to install); the
// default runtime_type io.containerd.runc.v2 gives it the typed runc
// options it reads: after a restart containerd starts new pods from runtime_path,
// status says which handler runs the shim and which containers do, and
// uninstall restores the configuration byte for byte and keeps the shim
// while a pod still runs on it.
func TestInstallShimFrontOnRealContainerd(t *testing.T) {
	requirePrerequisites(t)
	ctx := context.Background()
	dir := t.TempDir()
	containerdBin, err := lookPath("containerd")
	if err != nil {
		t.Fatal(err)
	}
	standIn, err := lookPath("containerd-shim-runc-v2")
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(ctx, node.Options{})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	e := &env{t: t, dir: dir, node: n}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("containerd log tail:\n%s", n.LogTail(40))
		}
		if err := n.Close(); err != nil {
			t.Errorf("close node: %v", err)
		}
	})
	paths := installPaths(dir, n.ConfigFile(), containerdBin)
	opts := install.Options{Paths: paths, Engines: []string{install.Containerd}, Front: install.FrontShim, ShimSource: standIn, NRI: install.NRINone}
	original, err := os.ReadFile(n.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	_, before := e.startPod("before", "shim", "app")

	res, err := install.Install(opts, false)
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	t.Logf("install:\n%s", res.Report(false))
	if len(res.Wired) != 1 || res.Wired[0].Front != install.FrontShim || res.Wired[0].Shim != paths.Shim || res.Wired[0].Runtime != realRunc {
		t.Fatalf("wired %+v", res.Wired)
	}
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	duringPod, during := e.startPod("during", "shim", "app")
	if out, err := n.Exec(during, "echo", "seen"); err != nil || strings.TrimSpace(out) != "seen" {
		t.Fatalf("exec in a container on the installed shim: %q %v", out, err)
	}
	stateDir := filepath.Join(n.Dir, "state")
	tasks, err := containerd.Tasks(fsplan.Host{Root: "/"}, stateDir)
	if err != nil {
		t.Fatal(err)
	}
	shims := map[string]string{}
	for _, tk := range tasks {
		shims[filepath.Base(tk.ID)] = tk.Shim
	}
	if shims[during] != paths.Shim || shims[duringPod] != paths.Shim {
		t.Errorf("the pod created after install runs on %q and %q, want the installed shim %s", shims[duringPod], shims[during], paths.Shim)
	}
	if shims[before] != standIn {
		t.Errorf("the container created before install runs on %q, want containerd's shim %s", shims[before], standIn)
	}

	st, err := install.GetStatus(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status:\n%s", st.Text())
	eng := st.Engines[0]
	if len(eng.Handlers) != 1 || eng.Handlers[0].Front != install.FrontShim || eng.Handlers[0].Shim != paths.Shim || eng.Handlers[0].Real != realRunc {
		t.Errorf("handlers %+v", eng.Handlers)
	}
	if eng.Tasks == nil || *eng.Tasks != (install.TaskCounts{Shim: 1, Neither: 1}) {
		t.Errorf("tasks %+v, want the container created after install on the shim, the one before on neither (pod sandboxes not counted)", eng.Tasks)
	}
	if st.Shim == nil || !st.Shim.Installed || st.Shim.Containerd != "v2.2.9" || !strings.Contains(st.Shim.Version, "Version:") {
		t.Errorf("shim %+v", st.Shim)
	}

	res, err = install.Uninstall(opts, false)
	if err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	t.Logf("uninstall:\n%s", res.Report(false))
	if got, _ := os.ReadFile(n.ConfigFile()); !bytes.Equal(got, original) {
		t.Errorf("containerd config after uninstall:\n%s", fsplan.Unified(string(original), string(got), 2))
	}
	if !slices.ContainsFunc(res.Notes, func(s string) bool { return strings.Contains(s, "k8s.io/"+during) }) {
		t.Errorf("uninstall notes %v: want the container that still runs on the shim", res.Notes)
	}
	if _, err := os.Stat(paths.Shim); err != nil {
		t.Errorf("shim removed while a pod runs on it: %v", err)
	}
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	// containerd reconnected to the pod's shim; the container still answers.
	if _, err := n.Exec(during, "true"); err != nil {
		t.Errorf("exec after restart: %v", err)
	}
	if err := n.RemovePod(duringPod); err != nil {
		t.Fatal(err)
	}
	if res, err = install.Uninstall(opts, false); err != nil {
		t.Fatalf("second uninstall: %v\n%s", err, res.Report(false))
	}
	if _, err := os.Stat(paths.Shim); err == nil {
		t.Error("shim left behind once no pod runs on it")
	}
}

// TestInstallShimFrontRecordsOnce runs execguard's own shim, once its
// command is in the tree: install's default front on a real containerd, a
// pod created after the restart, one exec. Exactly one exec event (the
// handler's BinaryName stays the real runc, so nothing records it twice),
// and the plugin counts the pod's container as covered by the shim's mark.
func TestInstallShimFrontRecordsOnce(t *testing.T) {
	requirePrerequisites(t)
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", containerd.ShimBinary)); err != nil {
		t.Skipf("cmd/%s is not in this tree: nothing to run the shim front with", containerd.ShimBinary)
	}
	ctx := context.Background()
	dir := t.TempDir()
	containerdBin, err := lookPath("containerd")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src")
	paths := installPaths(dir, "", containerdBin)
	opts := install.Options{
		Engines:      []string{install.Containerd},
		ShimSource:   buildCommand(t, "./cmd/"+containerd.ShimBinary, filepath.Join(src, containerd.ShimBinary)),
		PluginSource: buildCommand(t, "./cmd/execguard", filepath.Join(src, "execguard")),
	}
	e := &env{t: t, dir: dir, configPath: paths.Config, eventLog: filepath.Join(dir, "log", "events.ndjson")}
	stateDir := filepath.Join(dir, "state")
	userConfig := "event_log = \"" + e.eventLog + "\"\nstate_dir = \"" + stateDir + "\"\ninteractive_action = \"alert\"\n"
	if err := os.MkdirAll(filepath.Dir(paths.Config), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(paths.Config, []byte(userConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(ctx, node.Options{WrapperConfig: paths.Config})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	e.node = n
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("containerd log tail:\n%s", n.LogTail(40))
		}
		if err := n.Close(); err != nil {
			t.Errorf("close node: %v", err)
		}
	})
	paths.ContainerdConfig = n.ConfigFile()
	opts.Paths = paths
	_, before := e.startPod("before", "shimfront", "app")
	res, err := install.Install(opts, false)
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	t.Logf("install:\n%s", res.Report(false))
	if len(res.Wired) != 1 || res.Wired[0].Front != install.FrontShim || res.Wired[0].Runtime != realRunc {
		t.Fatalf("wired %+v", res.Wired)
	}
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	_, during := e.startPod("during", "shimfront", "app")
	mark := e.mark()
	if out, err := n.Exec(during, "echo", "seen"); err != nil || strings.TrimSpace(out) != "seen" {
		t.Fatalf("exec: %q %v", out, err)
	}
	if got := filter(e.since(mark), "event", "exec", during); len(got) != 1 {
		t.Errorf("%d exec events for the container on the shim, want exactly 1", len(got))
	}
	var st install.Status
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, err = install.GetStatus(opts); err != nil {
			t.Fatal(err)
		}
		if st.Plugin.Connected && st.Plugin.Containers == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("status:\n%s", st.Text())
	if !st.Plugin.Connected || st.Plugin.Covered != 1 || st.Plugin.Containers != 2 || len(st.Plugin.Uncovered) != 1 ||
		!strings.HasPrefix(before, strings.Fields(st.Plugin.Uncovered[0])[0]) {
		t.Errorf("plugin %+v: want connected, 1 of 2 covered, %s uncovered", st.Plugin, before)
	}
	if st.Shim == nil || !st.Shim.Installed || st.Shim.Containerd != install.ShimBuiltAgainst {
		t.Errorf("shim %+v", st.Shim)
	}
}
