package main

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/execguard/execguard/config"
)

// shape is the engine whose runtime command lines a run reproduces
// (reference: runtime-calls.md and the captured calls in
// runtime/testdata/runtime-calls/).
type shape string

const (
	// containerd's runc shim, through go-runc: global --root, --log and
	// --log-format on every call; the wrapper is execguard-<runtime>, its
	// configuration named by EXECGUARD_CONFIG, which containerd passes on.
	shapeContainerd shape = "containerd"
	// Podman, whose conmon runs exec: no --root, conmon's log flags only
	// for a runtime named crun; the wrapper stands in under the runtime's
	// own name with its configuration beside it, since Podman does not pass
	// its environment to conmon.
	shapePodman shape = "podman"
)

var (
	shapes   = []shape{shapeContainerd, shapePodman}
	runtimes = []string{"runc", "crun"}
)

func parseShape(s string) (shape, error) {
	for _, sh := range shapes {
		if string(sh) == s {
			return sh, nil
		}
	}
	return "", fmt.Errorf("unknown shape %q (want containerd or podman)", s)
}

func checkRuntime(name string) error {
	for _, r := range runtimes {
		if r == name {
			return nil
		}
	}
	return fmt.Errorf("unknown runtime %q (want runc or crun)", name)
}

// defaultReal is where Debian installs each runtime, as in the wrapper's
// own default [runtimes] table.
func defaultReal(runtimeName string) string {
	return config.Default().Runtimes[runtimeName]
}

// layout places one run's files in its temp dir as the engine would.
type layout struct {
	root      string // --root; "" is the runtime's default (/run/<runtime>), as Podman has it
	stateRoot string // where the runtime keeps the container's state
	bundle    string
	wrapper   string // the path the wrapper is called by
	config    string // the wrapper's configuration file
	configEnv bool   // whether EXECGUARD_CONFIG names config; else it lies beside wrapper
	console   string // the caller's --console-socket
	process   string // containerd: the one exec process file, rewritten by no one
	log       string // containerd: go-runc's --log
}

func newLayout(sh shape, runtimeName, tmp, id string) layout {
	switch sh {
	case shapePodman:
		// containers/storage: <graphroot>/overlay-containers/<id>/userdata
		// is the bundle, and each exec gets a directory in it.
		return layout{
			stateRoot: filepath.Join("/run", runtimeName),
			bundle:    filepath.Join(tmp, "storage", "overlay-containers", id, "userdata"),
			wrapper:   filepath.Join(tmp, "libexec", runtimeName),
			config:    filepath.Join(tmp, "libexec", config.BesideWrapper),
			console:   filepath.Join(tmp, "conmon-term.sock"),
		}
	default:
		// containerd's bundle dir is named after the container.
		root := filepath.Join(tmp, runtimeName+"-root")
		bundle := filepath.Join(tmp, id)
		return layout{
			root:      root,
			stateRoot: root,
			bundle:    bundle,
			wrapper:   filepath.Join(tmp, config.WrapperPrefix+runtimeName),
			config:    filepath.Join(tmp, "config.toml"),
			configEnv: true,
			console:   filepath.Join(tmp, "pty.sock"),
			process:   filepath.Join(tmp, "process.json"),
			log:       filepath.Join(bundle, "log.json"),
		}
	}
}

// execFiles are the per-exec paths of one call.
type execFiles struct {
	dir     string // Podman's exec directory, removed after the call; "" for containerd
	pidFile string
	process string
	log     string // --log, "" for none
}

// containerdExecFiles is the shim's: one process file and log per
// container, a pid file per exec in the bundle.
func containerdExecFiles(l layout, n uint64) execFiles {
	return execFiles{
		pidFile: filepath.Join(l.bundle, strconv.FormatUint(n, 10)+".pid"),
		process: l.process,
		log:     l.log,
	}
}

// podmanExecFiles is Podman's per-exec layout:
// <userdata>/<exec-id>/{exec_pid,exec-process-N,oci-log}.
func podmanExecFiles(userdata, execID string, n uint64, runtimeName string) execFiles {
	dir := filepath.Join(userdata, execID)
	f := execFiles{
		dir:     dir,
		pidFile: filepath.Join(dir, "exec_pid"),
		process: filepath.Join(dir, "exec-process-"+strconv.FormatUint(n, 10)),
	}
	if runtimeName == "crun" {
		f.log = filepath.Join(dir, "oci-log")
	}
	return f
}

// execArgv is the interactive exec's command line after argv[0], exactly as
// the engine writes it.
func execArgv(sh shape, runtimeName string, l layout, f execFiles, id string) []string {
	switch sh {
	case shapePodman:
		var argv []string
		if runtimeName == "crun" {
			// conmon's --runtime-arg for runtimes Podman knows take JSON logs.
			argv = append(argv, "--log-format=json", "--log", f.log)
		}
		return append(argv, "exec", "--pid-file", f.pidFile, "--process", f.process,
			"--detach", "--tty", "--console-socket", l.console, id)
	default:
		return []string{"--root", l.root, "--log", f.log, "--log-format", "json",
			"exec", "--process", f.process, "--console-socket", l.console, "--detach", "--pid-file", f.pidFile, id}
	}
}

// stateArgv is the pass-through call measured: state, with --root where the
// engine gives one.
func stateArgv(l layout, id string) []string {
	if l.root == "" {
		return []string{"state", id}
	}
	return []string{"--root", l.root, "state", id}
}

// ratioName names a comparison's result line; the default run (runc as
// containerd calls it) keeps the plain names.
func ratioName(base string, sh shape, runtimeName string) string {
	if sh == shapeContainerd && runtimeName == "runc" {
		return base
	}
	return fmt.Sprintf("%s-%s-%s", base, sh, runtimeName)
}

// wrapperConfig is the wrapper's configuration for a run: events into
// eventLog, alerts on, and the real runtime under its name.
func wrapperConfig(eventLog, runtimeName, realPath string) string {
	return fmt.Sprintf("event_log = %q\nstate_dir = %q\ninteractive_action = \"alert\"\nfail_mode = \"open\"\n\n[runtimes]\n%s = %q\n",
		eventLog, filepath.Join(filepath.Dir(eventLog), "state"), runtimeName, realPath)
}
