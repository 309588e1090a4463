//go:build e2e

// Package e2e runs execguard's runtime wrapper behind a real containerd v2
// node (CRI, NRI, runc) and checks the events it writes for real crictl and
// ctr sessions. Run as root: go test -tags e2e ./test/e2e/
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/test/node"
)

const (
	realRunc = "/usr/sbin/runc"
	ruleID   = "420e5bb4-93bf-40a3-8f4a-4cc1af90eca1"
)

// env is one test's node, execguard front and event log.
type env struct {
	t          *testing.T
	node       *node.Node
	front      front
	dir        string
	configPath string
	eventLog   string
}

// envOption adjusts the options of an env's node.
type envOption func(*node.Options)

// onContainerd runs the env's node on another containerd install
// (node.Options.Containerd, e.g. node.Containerd17).
func onContainerd(install string) envOption {
	return func(o *node.Options) { o.Containerd = install }
}

// front is the part of execguard that sees the node's runtime calls.
type front string

const (
	// frontWrapper: containerd's runc shim runs the runtime wrapper for
	// every runtime call.
	frontWrapper front = "wrapper"
	// frontShim: execguard's shim serves the runc handler and runs runc.
	frontShim front = "shim"
)

// fronts are the fronts the containerd tests run against.
func fronts() []front { return []front{frontWrapper, frontShim} }

// newEnv is newFrontEnv with the runtime wrapper.
func newEnv(t *testing.T, action string, opts ...envOption) *env {
	t.Helper()
	return newFrontEnv(t, action, frontWrapper, opts...)
}

// newFrontEnv checks the prerequisites, builds the front, writes its config
// with the given interactive action and starts a node whose runc handler
// runs every container start and exec through the front.
func newFrontEnv(t *testing.T, action string, fr front, opts ...envOption) *env {
	t.Helper()
	nodeOpts := node.Options{}
	for _, o := range opts {
		o(&nodeOpts)
	}
	requirePrerequisites(t, nodeOpts.Containerd)
	dir := t.TempDir()
	e := &env{
		t:          t,
		front:      fr,
		dir:        dir,
		configPath: filepath.Join(dir, "execguard.toml"),
		eventLog:   filepath.Join(dir, "events", "events.ndjson"),
	}
	if err := os.MkdirAll(filepath.Dir(e.eventLog), 0o700); err != nil {
		t.Fatal(err)
	}
	nodeOpts.WrapperConfig = e.configPath
	switch fr {
	case frontWrapper:
		nodeOpts.WrapperPath = buildWrapper(t, dir)
	case frontShim:
		nodeOpts.WrapperPath = realRunc
		nodeOpts.ShimPath = buildCommand(t, "./cmd/containerd-shim-execguard-v2", filepath.Join(dir, "bin", "containerd-shim-execguard-v2"))
	default:
		t.Fatalf("unknown front %q", fr)
	}
	e.setAction(action)

	start := time.Now()
	n, err := node.Start(context.Background(), nodeOpts)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Logf("node up in %s (containerd %s, dir %s, snapshotter %s)", time.Since(start).Round(time.Millisecond),
		n.ContainerdVersion, n.Dir, n.Snapshotter)
	e.node = n
	checkContainerd(t, n, nodeOpts.Containerd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("containerd log tail:\n%s", n.LogTail(40))
			if b, err := os.ReadFile(e.eventLog); err == nil {
				t.Logf("event log:\n%s", tail(string(b), 20))
			}
		}
		if err := n.Close(); err != nil {
			t.Errorf("close node: %v", err)
		}
	})
	return e
}

// checkContainerd fails the test when the node does not run the containerd
// install asked for.
func checkContainerd(t *testing.T, n *node.Node, install string) {
	t.Helper()
	if install == node.Containerd17 && !strings.HasPrefix(n.ContainerdVersion, "1.7.") {
		t.Errorf("node runs containerd %s, want 1.7", n.ContainerdVersion)
	}
}

// requirePrerequisites fails (never skips) when the machine cannot run the
// suite, saying what is missing; containerd optionally names a containerd
// install other than the default (node.Options.Containerd).
func requirePrerequisites(t *testing.T, containerd ...string) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root privileges")
	}
	for _, c := range containerd {
		if _, err := node.ContainerdDir(c); err != nil {
			missing = append(missing, err.Error())
		}
	}
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "ctr", "crictl", "script"} {
		if _, err := lookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	for _, f := range []string{realRunc, "/bin/busybox"} {
		if st, err := os.Stat(f); err != nil || st.Mode()&0o111 == 0 {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("e2e prerequisites missing: %s (run the suite as root after test/setup-node.sh)", strings.Join(missing, ", "))
	}
}

func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/local/bin", "/usr/local/go/bin", "/usr/sbin", "/usr/bin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// setAction rewrites the wrapper config. The wrapper reads it on every call,
// so the change applies to the next runtime call; the file is replaced by
// rename so that no call reads it half-written.
func (e *env) setAction(action string) {
	e.t.Helper()
	cfg := fmt.Sprintf("event_log = %q\nstate_dir = %q\ninteractive_action = %q\nfail_mode = \"open\"\n\n[runtimes]\nrunc = %q\n",
		e.eventLog, filepath.Join(filepath.Dir(e.configPath), "state"), action, realRunc)
	tmp := e.configPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(cfg), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, e.configPath); err != nil {
		e.t.Fatal(err)
	}
}

// doc is one decoded event log line.
type doc map[string]any

// events reads the whole event log and fails the test unless every line is
// a complete JSON object (no torn, merged or empty lines).
func (e *env) events() []doc {
	e.t.Helper()
	b, err := os.ReadFile(e.eventLog)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatalf("read event log: %v", err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		e.t.Errorf("event log does not end with a newline: last line %q", tail(string(b), 1))
	}
	var docs []doc
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for i := 1; sc.Scan(); i++ {
		var d doc
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		if err := dec.Decode(&d); err != nil {
			e.t.Fatalf("event log line %d is not a JSON object: %v\n%s", i, err, sc.Text())
		}
		if dec.More() {
			e.t.Fatalf("event log line %d holds more than one JSON document:\n%s", i, sc.Text())
		}
		docs = append(docs, d)
	}
	if err := sc.Err(); err != nil {
		e.t.Fatalf("scan event log: %v", err)
	}
	return docs
}

// mark returns the number of events so far; since(mark) returns the later ones.
func (e *env) mark() int { return len(e.events()) }

func (e *env) since(mark int) []doc {
	all := e.events()
	if mark > len(all) {
		e.t.Fatalf("event log shrank from %d to %d lines", mark, len(all))
	}
	return all[mark:]
}

// get walks a dotted path through nested JSON objects.
func (d doc) get(path string) (any, bool) {
	var cur any = map[string]any(d)
	for _, key := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func (d doc) str(path string) string {
	v, _ := d.get(path)
	s, _ := v.(string)
	return s
}

func (d doc) strs(path string) []string {
	v, _ := d.get(path)
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func (d doc) String() string {
	b, _ := json.Marshal(map[string]any(d))
	return string(b)
}

// filter selects documents of one kind and action for one container. A
// container's first process is event.action exec, as Defend for Containers
// records it; action "container-start" selects it by execguard.operation.
func filter(docs []doc, kind, action, ctrID string) []doc {
	var out []doc
	for _, d := range docs {
		if d.str("event.kind") == kind && actionOf(d) == action && d.str("container.id") == ctrID {
			out = append(out, d)
		}
	}
	return out
}

// actionOf is event.action, or container-start for a container's first
// process.
func actionOf(d doc) string {
	if d.str("execguard.operation") == "container-start" && d.str("event.action") == "exec" {
		return "container-start"
	}
	return d.str("event.action")
}

func kinds(docs []doc, kind string) []doc {
	var out []doc
	for _, d := range docs {
		if d.str("event.kind") == kind {
			out = append(out, d)
		}
	}
	return out
}

// expectation is one field check: a JSON value the path must hold.
type expectation struct {
	path string
	want any
}

// check compares fields by their JSON encoding, so strings, bools and
// arrays compare alike.
func check(t *testing.T, what string, d doc, exps []expectation) {
	t.Helper()
	for _, x := range exps {
		got, ok := d.get(x.path)
		if !ok {
			t.Errorf("%s: %s missing in %s", what, x.path, d)
			continue
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(x.want)
		if !bytes.Equal(gb, wb) {
			t.Errorf("%s: %s = %s, want %s", what, x.path, gb, wb)
		}
	}
}

// checkCommon checks what every exec or container-start document carries.
func checkCommon(t *testing.T, what string, d doc) {
	t.Helper()
	if _, err := time.Parse(time.RFC3339Nano, d.str("@timestamp")); err != nil {
		t.Errorf("%s: @timestamp %q: %v", what, d.str("@timestamp"), err)
	}
	check(t, what, d, []expectation{
		{"event.category", []string{"process"}},
		{"host.os.type", "linux"},
		{"process.entry_leader.entry_meta.type", "container"},
		{"process.entry_leader.same_as_process", true},
	})
}

// checkPod checks the CRI metadata the wrapper reads from the bundle.
func checkPod(t *testing.T, what string, d doc, pod, namespace, container string) {
	t.Helper()
	check(t, what, d, []expectation{
		{"orchestrator.resource.name", pod},
		{"orchestrator.namespace", namespace},
		{"container.name", container},
	})
	if img := d.str("container.image.name"); !strings.HasPrefix(img, "docker.io/library/busybox") {
		t.Errorf("%s: container.image.name = %q, want the busybox image", what, img)
	}
}

// startPod runs a pod with one long-running, non-tty busybox container.
func (e *env) startPod(pod, namespace, container string) (podID, ctrID string) {
	e.t.Helper()
	podID, err := e.node.RunPod(pod, namespace)
	if err != nil {
		e.t.Fatal(err)
	}
	ctrID, err = e.node.CreateContainer(podID, container, false, "sleep", "3600")
	if err != nil {
		e.t.Fatal(err)
	}
	return podID, ctrID
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// buildCommand builds one of the module's commands to out.
func buildCommand(t *testing.T, pkg, out string) string {
	t.Helper()
	goBin, err := lookPath("go")
	if err != nil {
		t.Fatalf("e2e prerequisites missing: go toolchain: %v", err)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "build", "-o", out, pkg)
	cmd.Dir = root
	if pkg == "./cmd/execguard-runtime" {
		// As the Makefile builds it (its WRAPPER_GOEXPERIMENT, exported to
		// the tests): the wrapper under test is the one installed.
		cmd.Env = append(os.Environ(), "GOEXPERIMENT="+os.Getenv("WRAPPER_GOEXPERIMENT"))
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// buildWrapper builds cmd/execguard-runtime as execguard-runc, the name that
// makes it stand in for runc.
func buildWrapper(t *testing.T, dir string) string {
	t.Helper()
	return buildCommand(t, "./cmd/execguard-runtime", filepath.Join(dir, "bin", "execguard-runc"))
}

// checkFront checks that the document was written by the env's front.
func (e *env) checkFront(t *testing.T, what string, d doc) {
	t.Helper()
	agent := map[front]string{frontWrapper: "execguard-runtime", frontShim: "execguard-shim"}[e.front]
	check(t, what, d, []expectation{
		{"agent.name", agent},
		{"execguard.caller", "containerd-shim"},
		{"container.runtime", "runc"},
	})
}
