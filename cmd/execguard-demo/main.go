// Command execguard-demo shows execguard at work on a private containerd or
// CRI-O with execguard's NRI plugin connected: a pod, an interactive exec,
// the alert it raises and the end of the session with its exit code, a shell
// fed from stdin without a terminal, then block mode and the refused execs
// as the user sees them. On containerd the front is execguard's shim by
// default (-front wrapper for the runtime wrapper); CRI-O has the wrapper.
// Everything it starts it tears down; the events it produced are left in
// .demo/events.ndjson.
//
// Run as root, from the repository (make demo, make demo ENGINE=crio):
//
//	execguard-demo -wrapper bin/execguard-runc -shim bin/containerd-shim-execguard-v2 -execguard bin/execguard [-engine crio] [-front wrapper]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/execguard/execguard/state"
	"github.com/execguard/execguard/test/crionode"
	"github.com/execguard/execguard/test/node"
)

func main() {
	var o options
	flag.StringVar(&o.wrapper, "wrapper", "bin/execguard-runc", "the execguard runtime wrapper, named execguard-runc")
	flag.StringVar(&o.shim, "shim", "bin/containerd-shim-execguard-v2", "execguard's containerd shim")
	flag.StringVar(&o.execguard, "execguard", "bin/execguard", "the execguard command (its NRI plugin runs connected to the engine)")
	flag.StringVar(&o.runc, "runc", "/usr/sbin/runc", "the real runc")
	flag.StringVar(&o.out, "out", ".demo", "directory for the copy of the events")
	flag.StringVar(&o.engine, "engine", "containerd", "the engine to run: containerd or crio")
	flag.StringVar(&o.front, "front", "", "containerd's front: shim (the default) or wrapper; CRI-O has the wrapper only")
	flag.Parse()
	if err := run(os.Stdout, o); err != nil {
		fmt.Fprintf(os.Stderr, "execguard-demo: %v\n", err)
		os.Exit(1)
	}
}

// options are the demo's flags.
type options struct {
	wrapper, shim, execguard, runc, out, engine, front string
}

type demo struct {
	w        io.Writer
	cfgPath  string
	eventLog string
	stateDir string
	runc     string
	front    string
	n        engine
}

// engine is a private node the demo drives: a containerd (test/node) or a
// CRI-O (test/crionode).
type engine interface {
	RunPod(name, namespace string) (string, error)
	CreateContainer(podID, name string, tty bool, cmd ...string) (string, error)
	ExecTTY(ctrID string, cmd ...string) (string, error)
	Exec(ctrID string, cmd ...string) (string, error)
	RemovePod(podID string) error
	Close() error
}

// The engines' differences the demo needs.
type containerdNode struct{ *node.Node }

func (n containerdNode) runPod(name, ns string, labels map[string]string) (string, error) {
	return n.RunPodWithLabels(name, ns, labels)
}
func (n containerdNode) execStdin(ctr, input string, cmd ...string) (string, error) {
	return n.ExecStdin(ctr, strings.NewReader(input), cmd...)
}

type crioNode struct{ *crionode.Node }

func (n crioNode) runPod(name, ns string, labels map[string]string) (string, error) {
	return n.RunPodWith(crionode.Pod{Name: name, Namespace: ns, Labels: labels})
}
func (n crioNode) execStdin(ctr, input string, cmd ...string) (string, error) {
	return n.ExecStdin(ctr, input, cmd...)
}

// podRunner and stdinExec are what both adapters add to engine.
type podRunner interface {
	runPod(name, namespace string, labels map[string]string) (string, error)
	execStdin(ctrID, input string, cmd ...string) (string, error)
}

func run(w io.Writer, o options) (err error) {
	engineName := o.engine
	if engineName != "containerd" && engineName != "crio" {
		return fmt.Errorf("-engine %q: want containerd or crio", engineName)
	}
	switch {
	case o.front == "" && engineName == "crio":
		o.front = "wrapper"
	case o.front == "":
		o.front = "shim"
	case o.front != "shim" && o.front != "wrapper":
		return fmt.Errorf("-front %q: want shim or wrapper", o.front)
	case o.front == "shim" && engineName == "crio":
		return errors.New("-front shim: CRI-O has no shim front; its runtime calls go through the wrapper")
	}
	if os.Geteuid() != 0 {
		return errors.New("must run as root (it starts a private container engine)")
	}
	for _, p := range []*string{&o.wrapper, &o.shim, &o.execguard} {
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	wrapper := o.wrapper
	if filepath.Base(wrapper) != "execguard-runc" {
		return fmt.Errorf("-wrapper %s: the wrapper finds its real runtime by its name; call it execguard-runc", wrapper)
	}
	for _, bin := range []string{o.execguard, map[string]string{"shim": o.shim, "wrapper": o.wrapper}[o.front]} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%w (make build makes it)", err)
		}
	}
	runc, out := o.runc, o.out
	work, err := os.MkdirTemp("", "execguard-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	d := &demo{w: w, runc: runc, front: o.front,
		cfgPath:  filepath.Join(work, "libexec", "execguard.toml"),
		eventLog: filepath.Join(work, "log", "events.ndjson"),
		stateDir: filepath.Join(work, "state"),
	}
	if err := os.MkdirAll(filepath.Dir(d.cfgPath), 0o755); err != nil {
		return err
	}
	if err := d.configure("alert"); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var nriSocket string
	if engineName == "crio" {
		nriSocket, err = d.startCRIO(ctx, wrapper)
	} else {
		nriSocket, err = d.startContainerd(ctx, wrapper, o.shim)
	}
	if err != nil {
		return err
	}
	defer func() {
		d.say("Tearing everything down.")
		err = errors.Join(err, d.n.Close())
		err = errors.Join(err, d.keepEvents(out))
	}()
	d.say("  event log:         %s", d.eventLog)
	stopPlugin, err := d.startPlugin(o.execguard, nriSocket, filepath.Join(work, "plugin.log"))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stopPlugin()) }()

	pods := d.n.(podRunner)
	pod, err := pods.runPod("web", "demo", map[string]string{"app": "web", "team": "shop"})
	if err != nil {
		return err
	}
	ctr, err := d.n.CreateContainer(pod, "shell", false, "sleep", "3600")
	if err != nil {
		return err
	}
	// The plugin publishes the container's record (pod labels, UID) for
	// the fronts as soon as the engine tells it of the container.
	if err := waitRecord(d.stateDir, ctr, 30*time.Second); err != nil {
		return err
	}
	d.say("\nPod demo/web (labels app=web, team=shop) is running with container \"shell\" (%.12s).", ctr)

	d.say("\n1. Action alert. Someone opens an interactive shell in the container:")
	mark := d.lines()
	d.cmd("crictl exec -it %.12s sh -c 'echo hello from inside; id'", ctr)
	res, err := d.n.ExecTTY(ctr, "sh", "-c", "echo hello from inside; id")
	d.show(res)
	if err != nil {
		return fmt.Errorf("interactive exec in alert mode: %w", err)
	}
	if err := d.showEvents(mark, true); err != nil {
		return err
	}

	d.say("\n   A plain exec (no terminal, no stdin) is recorded, and raises no alert:")
	mark = d.lines()
	d.cmd("crictl exec %.12s id", ctr)
	res, err = d.n.Exec(ctr, "id")
	d.show(res)
	if err != nil {
		return fmt.Errorf("plain exec: %w", err)
	}
	if err := d.showEvents(mark, false); err != nil {
		return err
	}

	d.say("\n   A shell fed from stdin, without a terminal, is a shell all the same:")
	mark = d.lines()
	d.cmd("echo 'echo no terminal, still a shell; id -u' | crictl exec -i %.12s sh", ctr)
	res, err = pods.execStdin(ctr, "echo no terminal, still a shell; id -u\n", "sh")
	d.show(res)
	if err != nil {
		return fmt.Errorf("shell with attached stdin in alert mode: %w", err)
	}
	if err := d.showEvents(mark, false); err != nil {
		return err
	}

	d.say("\n2. Action block (interactive_action = \"block\" in %s; read on every call).", d.cfgPath)
	if err := d.configure("block"); err != nil {
		return err
	}
	mark = d.lines()
	d.cmd("crictl exec -it %.12s sh -c 'touch /tmp/was-here'", ctr)
	res, err = d.n.ExecTTY(ctr, "sh", "-c", "touch /tmp/was-here")
	d.show(res)
	if err == nil {
		return errors.New("the interactive exec was not refused in block mode")
	}
	d.cmd("echo 'touch /tmp/was-here' | crictl exec -i %.12s sh", ctr)
	res, err = pods.execStdin(ctr, "touch /tmp/was-here\n", "sh")
	if err == nil {
		d.show(res)
		return errors.New("the shell with attached stdin was not refused in block mode")
	}
	d.show(refusal(err))
	if err := d.showEvents(mark, false); err != nil {
		return err
	}
	d.say("\n   Nothing ran in the container, and plain execs still work:")
	check := "test -e /tmp/was-here && echo /tmp/was-here exists || echo /tmp/was-here does not exist"
	d.cmd("crictl exec %.12s sh -c '%s'", ctr, check)
	res, err = d.n.Exec(ctr, "sh", "-c", check)
	d.show(res)
	if err != nil {
		return fmt.Errorf("plain exec in block mode: %w", err)
	}
	if !strings.Contains(res, "does not exist") {
		return errors.New("the refused exec left its marker in the container")
	}
	if err := d.n.RemovePod(pod); err != nil {
		return err
	}
	d.say("\nThe pod was stopped and removed as usual.")
	return nil
}

func (d *demo) startContainerd(ctx context.Context, wrapper, shim string) (string, error) {
	opts := node.Options{WrapperConfig: d.cfgPath}
	if d.front == "shim" {
		d.say("Starting a private containerd (its own root, state and socket) whose runc handler runs execguard's shim, %s,\n"+
			"as execguard install sets it up: it decides each container start and exec itself and sees each process end.", shim)
		opts.ShimPath, opts.WrapperPath = shim, d.runc
	} else {
		d.say("Starting a private containerd (its own root, state and socket) whose runc handler runs %s.", wrapper)
		opts.WrapperPath = wrapper
	}
	n, err := node.Start(ctx, opts)
	if err != nil {
		return "", err
	}
	d.n = containerdNode{n}
	d.say("  containerd socket: %s", n.Socket)
	d.say("  execguard config:  %s (EXECGUARD_CONFIG)", d.cfgPath)
	return n.NRISocket, nil
}

// startPlugin runs execguard's NRI plugin connected to the engine's NRI
// socket: it tells the fronts each pod's labels and UID.
func (d *demo) startPlugin(execguard, socket, logFile string) (stop func() error, err error) {
	cmd := exec.Command(execguard, "nri", "run", "--socket", socket, "--execguard-config", d.cfgPath, "--log-file", logFile)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("NRI plugin: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	d.say("  NRI plugin:        %s nri run (log %s)", execguard, logFile)
	return func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			return nil
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("NRI plugin did not stop on SIGTERM")
		}
	}, nil
}

// startCRIO lays the wrapper out as execguard install --engine crio does:
// the runc handler's runtime_path is a link named runc, with the wrapper's
// configuration beside it (conmon passes runtime calls no environment of
// CRI-O's).
func (d *demo) startCRIO(ctx context.Context, wrapper string) (string, error) {
	link := filepath.Join(filepath.Dir(d.cfgPath), "runc")
	if err := os.Symlink(wrapper, link); err != nil {
		return "", err
	}
	d.say("Starting a private CRI-O %s (its own root, run root, socket and configuration) whose runc handler's runtime_path is %s -> %s.",
		crionode.Version, link, wrapper)
	n, err := crionode.Start(ctx, crionode.Options{RuntimePaths: map[string]string{"runc": link, "crun": "/usr/bin/crun"}})
	if err != nil {
		return "", err
	}
	d.n = crioNode{n}
	d.say("  CRI-O socket:      %s", n.Socket)
	d.say("  wrapper config:    %s (beside the runtime_path)", d.cfgPath)
	return n.NRISocket, nil
}

// configure writes the wrapper's configuration; it is read on every call.
func (d *demo) configure(action string) error {
	cfg := fmt.Sprintf("event_log = %q\nstate_dir = %q\ninteractive_action = %q\nfail_mode = \"open\"\n\n[runtimes]\nrunc = %q\n",
		d.eventLog, d.stateDir, action, d.runc)
	tmp := d.cfgPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(cfg), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, d.cfgPath)
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.w, format+"\n", args...) }

func (d *demo) cmd(format string, args ...any) {
	fmt.Fprintf(d.w, "   $ "+format+"\n", args...)
}

// show prints what the user's terminal showed, indented.
func (d *demo) show(out string) {
	out = strings.TrimRight(strings.ReplaceAll(out, "\r", ""), "\n")
	for _, line := range strings.Split(out, "\n") {
		fmt.Fprintf(d.w, "   %s\n", line)
	}
}

// lines counts the event log's lines, to show only what comes after.
func (d *demo) lines() int {
	docs, _ := readEvents(d.eventLog)
	return len(docs)
}

// showEvents prints a line per new document, and the first alert in full.
func (d *demo) showEvents(from int, fullAlert bool) error {
	docs, err := readEvents(d.eventLog)
	if err != nil {
		return err
	}
	if len(docs) <= from {
		return fmt.Errorf("no event recorded in %s", d.eventLog)
	}
	d.say("   events (%s):", d.eventLog)
	var alert []byte
	for _, raw := range docs[from:] {
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			return fmt.Errorf("event log line is not JSON: %w", err)
		}
		d.say("     %-5v %-15v %-9v interactive=%-5v stdin=%-8v container=%v pod=%v/%v labels=%v args=%v%s%s",
			get(doc, "event.kind"), get(doc, "event.action"), get(doc, "event.type"), get(doc, "process.interactive"),
			orDash(get(doc, "execguard.stdin")), get(doc, "container.name"), get(doc, "orchestrator.namespace"),
			get(doc, "orchestrator.resource.name"), labels(doc), get(doc, "process.args"), ended(doc), reason(doc))
		if get(doc, "event.kind") == "alert" && alert == nil {
			alert = raw
		}
	}
	if fullAlert && alert != nil {
		var buf bytes.Buffer
		if err := json.Indent(&buf, alert, "     ", "  "); err == nil {
			d.say("   the alert document:\n     %s", buf.String())
		}
	}
	return nil
}

// refusal is what crictl printed of a refused call: its error output, found
// after the last "exit status N: " of the error.
func refusal(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "exit status "); i >= 0 {
		if j := strings.Index(msg[i:], ": "); j >= 0 {
			msg = msg[i+j+2:]
		}
	}
	return msg
}

// waitRecord waits until the NRI plugin has published container id's record.
func waitRecord(stateDir, id string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, ok, err := state.ReadContainer(stateDir, id)
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the NRI plugin published no record of container %.12s in %s (%v)", id, stateDir, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ended describes an end event: the exit code and how long the process ran.
func ended(doc map[string]any) string {
	code, ok := get(doc, "process.exit_code").(float64)
	if !ok {
		return ""
	}
	s := fmt.Sprintf(" exit_code=%d", int(code))
	if ns, ok := get(doc, "event.duration").(float64); ok {
		s += " ran=" + time.Duration(ns).Round(time.Millisecond).String()
	}
	return s
}

func labels(doc map[string]any) string {
	m, ok := get(doc, "orchestrator.resource.label").(map[string]any)
	if !ok || len(m) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range []string{"app", "team"} {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return strings.Join(parts, ",")
}

func orDash(v any) any {
	if v == nil || v == "" {
		return "-"
	}
	return v
}

func reason(doc map[string]any) string {
	if r, ok := get(doc, "execguard.reason").(string); ok && r != "" {
		return " reason=" + r
	}
	return ""
}

// keepEvents copies the event log to dir/events.ndjson.
func (d *demo) keepEvents(dir string) error {
	data, err := os.ReadFile(d.eventLog)
	if err != nil {
		return fmt.Errorf("keep events: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dst := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		return err
	}
	abs, _ := filepath.Abs(dst)
	d.say("All %d event lines of this demo are in %s.", bytes.Count(data, []byte("\n")), abs)
	return nil
}

func readEvents(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out, sc.Err()
}

func get(doc map[string]any, path string) any {
	var cur any = doc
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}
