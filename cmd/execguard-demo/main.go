// Command execguard-demo shows execguard at work on a private containerd or
// CRI-O: a pod, an interactive exec and the alert it raises, then block mode
// and the refused exec as the user sees it. Everything it starts it tears
// down; the events it produced are left in .demo/events.ndjson.
//
// Run as root, from the repository (make demo, make demo ENGINE=crio):
//
//	execguard-demo -wrapper bin/execguard-runc [-engine crio]
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
	"path/filepath"
	"strings"
	"time"

	"github.com/execguard/execguard/test/crionode"
	"github.com/execguard/execguard/test/node"
)

func main() {
	wrapper := flag.String("wrapper", "bin/execguard-runc", "the execguard runtime wrapper, named execguard-runc")
	runc := flag.String("runc", "/usr/sbin/runc", "the real runc")
	out := flag.String("out", ".demo", "directory for the copy of the events")
	engine := flag.String("engine", "containerd", "the engine to run: containerd or crio")
	flag.Parse()
	if err := run(os.Stdout, *engine, *wrapper, *runc, *out); err != nil {
		fmt.Fprintf(os.Stderr, "execguard-demo: %v\n", err)
		os.Exit(1)
	}
}

type demo struct {
	w        io.Writer
	cfgPath  string
	eventLog string
	stateDir string
	runc     string
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

func run(w io.Writer, engineName, wrapper, runc, out string) (err error) {
	if engineName != "containerd" && engineName != "crio" {
		return fmt.Errorf("-engine %q: want containerd or crio", engineName)
	}
	if os.Geteuid() != 0 {
		return errors.New("must run as root (it starts a private container engine)")
	}
	wrapper, err = filepath.Abs(wrapper)
	if err != nil {
		return err
	}
	if filepath.Base(wrapper) != "execguard-runc" {
		return fmt.Errorf("-wrapper %s: the wrapper finds its real runtime by its name; call it execguard-runc", wrapper)
	}
	work, err := os.MkdirTemp("", "execguard-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	d := &demo{w: w, runc: runc,
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
	if engineName == "crio" {
		err = d.startCRIO(ctx, wrapper)
	} else {
		err = d.startContainerd(ctx, wrapper)
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

	pod, err := d.n.RunPod("web", "demo")
	if err != nil {
		return err
	}
	ctr, err := d.n.CreateContainer(pod, "shell", false, "sleep", "3600")
	if err != nil {
		return err
	}
	d.say("\nPod demo/web is running with container \"shell\" (%.12s).", ctr)

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

	d.say("\n   A plain exec (no terminal) is recorded, and raises no alert:")
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

func (d *demo) startContainerd(ctx context.Context, wrapper string) error {
	d.say("Starting a private containerd (its own root, state and socket) whose runc handler runs %s.", wrapper)
	n, err := node.Start(ctx, node.Options{WrapperPath: wrapper, WrapperConfig: d.cfgPath})
	if err != nil {
		return err
	}
	d.n = n
	d.say("  containerd socket: %s", n.Socket)
	d.say("  wrapper config:    %s (EXECGUARD_CONFIG)", d.cfgPath)
	return nil
}

// startCRIO lays the wrapper out as execguard install --engine crio does:
// the runc handler's runtime_path is a link named runc, with the wrapper's
// configuration beside it (conmon passes runtime calls no environment of
// CRI-O's).
func (d *demo) startCRIO(ctx context.Context, wrapper string) error {
	link := filepath.Join(filepath.Dir(d.cfgPath), "runc")
	if err := os.Symlink(wrapper, link); err != nil {
		return err
	}
	d.say("Starting a private CRI-O %s (its own root, run root, socket and configuration) whose runc handler's runtime_path is %s -> %s.",
		crionode.Version, link, wrapper)
	n, err := crionode.Start(ctx, crionode.Options{RuntimePaths: map[string]string{"runc": link, "crun": "/usr/bin/crun"}})
	if err != nil {
		return err
	}
	d.n = n
	d.say("  CRI-O socket:      %s", n.Socket)
	d.say("  wrapper config:    %s (beside the runtime_path)", d.cfgPath)
	return nil
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
		d.say("     %-5v %-15v %-9v interactive=%-5v container=%v pod=%v/%v args=%v%s",
			get(doc, "event.kind"), get(doc, "event.action"), get(doc, "event.type"), get(doc, "process.interactive"),
			get(doc, "container.name"), get(doc, "orchestrator.namespace"), get(doc, "orchestrator.resource.name"),
			get(doc, "process.args"), reason(doc))
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
