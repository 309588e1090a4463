package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/internal/plainfile"
	"github.com/execguard/execguard/runtime/core"
	"github.com/execguard/execguard/state"
)

// maxStateBytes bounds what the wrapper reads of the runtime's own state
// (runc's state.json, crun's status) to find a bundle.
const maxStateBytes = core.MaxSpecBytes

// Gather collects the facts of a decision call: the process about to start
// and its container, from the command line, the process spec, the bundle's
// annotations and the NRI plugin's record under stateDir ("" for none).
// Problems are recorded in the facts, never fatal.
func Gather(c Call, runtimeName, stateDir string) detect.Facts {
	f := detect.Facts{Subcommand: c.Subcommand}
	f.Container.ID = c.ContainerID
	f.Container.Runtime = runtimeName
	var parent parentProcess
	f.Caller, parent = callerOf(c)

	switch c.Subcommand {
	case "exec":
		gatherExec(c, runtimeName, &f)
	case "create", "run":
		gatherCreate(c, &f)
	}
	if f.Operation == detect.OpExec {
		f.ExecKind = execKind(f.Caller.Engine, c, parent.args, f.Container.Manager)
	}
	if f.Container.Name == "" && f.Caller.Engine == CallerConmon {
		// Podman's bundle has no name annotation; its conmon carries the
		// container's name as -n.
		f.Container.Name = conmonName(parent.args)
	}
	if stateDir != "" && f.Container.ID != "" {
		rec, ok, err := state.ReadContainer(stateDir, f.Container.ID)
		if err != nil {
			f.AddProblem("plugin metadata: %v", err)
		} else if ok {
			rec.Apply(&f.Container)
		}
	}
	return f
}

// gatherExec reads an exec's process and its target container's bundle.
func gatherExec(c Call, runtimeName string, f *detect.Facts) {
	f.Operation = detect.OpExec
	f.ExecID = execID(c)
	f.Process = execProcess(c, f)
	bundle, err := execBundle(c, runtimeName)
	if err != nil {
		f.AddProblem("bundle: %v", err)
		return
	}
	f.Container.Bundle = bundle
	// Only the annotations: the container's own process is not what an
	// exec starts.
	core.ConfigFromFile(f, filepath.Join(bundle, "config.json"), false)
}

// gatherCreate reads a new container's bundle config: its init process and
// annotations.
func gatherCreate(c Call, f *detect.Facts) {
	f.Operation = detect.OpContainerStart
	bundle := c.Flags.Get("bundle")
	if bundle == "" {
		wd, err := os.Getwd()
		if err != nil {
			f.AddProblem("bundle: working directory: %v", err)
		}
		bundle = wd
	}
	f.Container.Bundle = bundle
	cfgPath := c.Flags.Get("config") // crun's --config
	switch {
	case cfgPath == "":
		cfgPath = filepath.Join(bundle, "config.json")
	case !filepath.IsAbs(cfgPath):
		// crun opens a relative --config from its working directory, not
		// from the bundle: read the file it will read.
		wd, err := os.Getwd()
		if err != nil {
			f.AddProblem("bundle config: working directory: %v", err)
		}
		cfgPath = filepath.Join(wd, cfgPath)
	}
	core.ConfigFromFile(f, cfgPath, true)
}

// applyCreateConfig takes a new container's init process and annotations
// from its bundle config data, read from path.
func applyCreateConfig(path string, data []byte, f *detect.Facts) {
	core.ConfigFromSpec(f, path, bytes.NewReader(data), true)
}

// execProcess reads the exec'd process: from --process, which the caller
// deletes once the runtime returns, or else from the command line.
func execProcess(c Call, f *detect.Facts) detect.Process {
	if path := c.Flags.Get("process"); path != "" {
		core.ProcessFromFile(f, path)
		return f.Process
	}
	p := detect.Process{
		Known:    true,
		Args:     c.Operands,
		Env:      c.Flags["env"],
		Cwd:      c.Flags.Get("cwd"),
		Terminal: c.Flags.Bool("tty"),
	}
	if len(p.Args) == 0 {
		f.AddProblem("exec: no --process and no command after the container id")
	}
	if u := c.Flags.Get("user"); u != "" {
		uid, gid, err := parseUser(u)
		if err != nil {
			f.AddProblem("exec --user: %v", err)
		}
		p.UID, p.GID = uid, gid
	}
	return p
}

// parseUser reads runc's --user UID[:GID].
func parseUser(s string) (uid, gid uint32, err error) {
	u, g, hasGID := strings.Cut(s, ":")
	n, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: want UID[:GID]", quoteToken(s))
	}
	uid = uint32(n)
	if hasGID {
		n, err = strconv.ParseUint(g, 10, 32)
		if err != nil {
			return uid, 0, fmt.Errorf("%s: want UID[:GID]", quoteToken(s))
		}
		gid = uint32(n)
	}
	return uid, gid, nil
}

// execBundle finds the target container's bundle for an exec: from the
// command line where it shows, else from the runtime's own state.
func execBundle(c Call, runtimeName string) (string, error) {
	if b := ArgvBundle(c); b != "" {
		return b, nil
	}
	b, err := stateBundle(c.Global.Get("root"), runtimeName, c.ContainerID)
	if err == nil {
		return b, nil
	}
	// CRI-O and Podman keep each container's bundle in its userdata
	// directory, under containers/storage's default run root and graph root.
	for _, storage := range []string{"/run/containers/storage", "/var/lib/containers/storage"} {
		dir := filepath.Join(storage, "overlay-containers", c.ContainerID, "userdata")
		if _, statErr := os.Stat(filepath.Join(dir, "config.json")); statErr == nil {
			return dir, nil
		}
	}
	return "", err
}

// ArgvBundle is the container's bundle as far as the command line locates
// it: --bundle on create and run; otherwise the directory of --pid-file or
// --log (containerd: <bundle>/<exec-id>.pid, <bundle>/log.json) or the one
// above the pid file (Podman: <bundle>/<exec-id>/exec_pid), when that
// directory is named after the container. The working directory is no guide:
// one containerd shim serves a whole pod from the sandbox's bundle.
func ArgvBundle(c Call) string {
	if b := c.Flags.Get("bundle"); b != "" {
		return b
	}
	var candidates []string
	if p := c.Flags.Get("pid-file"); p != "" {
		candidates = append(candidates, filepath.Dir(p), filepath.Dir(filepath.Dir(p)))
	}
	if l := logFile(c); l != "" {
		candidates = append(candidates, filepath.Dir(l))
	}
	for _, dir := range candidates {
		if bundleOf(dir, c.ContainerID) {
			return dir
		}
	}
	return ""
}

// bundleOf reports whether dir is named after the container, as containerd's
// and Podman's bundle directories are (<id> or <id>/userdata).
func bundleOf(dir, id string) bool {
	base := filepath.Base(dir)
	if base == "userdata" {
		base = filepath.Base(filepath.Dir(dir))
	}
	return base == id
}

// stateBundle reads the bundle from runc's state.json or crun's status.
func stateBundle(root, runtimeName, id string) (string, error) {
	if id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
		return "", fmt.Errorf("container id %s is not a valid name", quoteToken(id))
	}
	if root == "" {
		root = "/run/" + runtimeName
	}
	var runcState struct {
		Config struct {
			Labels []string `json:"labels"`
		} `json:"config"`
	}
	statePath := filepath.Join(root, id, "state.json")
	err := readJSON(statePath, &runcState)
	if err == nil {
		for _, l := range runcState.Config.Labels {
			if b, ok := strings.CutPrefix(l, "bundle="); ok {
				return b, nil
			}
		}
		return "", fmt.Errorf("%s has no bundle label", statePath)
	}
	var crunStatus struct {
		Bundle string `json:"bundle"`
	}
	statusPath := filepath.Join(root, id, "status")
	if err2 := readJSON(statusPath, &crunStatus); err2 == nil && crunStatus.Bundle != "" {
		return crunStatus.Bundle, nil
	}
	return "", fmt.Errorf("not found from the command line nor in %s: %w", statePath, err)
}

// execID is the caller's name for the exec where the pid file carries it:
// containerd <bundle>/<exec-id>.pid, Podman <bundle>/<exec-id>/exec_pid.
func execID(c Call) string {
	p := c.Flags.Get("pid-file")
	if p == "" {
		return ""
	}
	base := filepath.Base(p)
	if base == "exec_pid" {
		return filepath.Base(filepath.Dir(p))
	}
	if id, ok := strings.CutSuffix(base, ".pid"); ok {
		return id
	}
	// CRI-O's /tmp/pidfileN and conmon-rs's exec_sync<uuid>pid name no exec.
	return ""
}

// logFile is the --log path when it names a file (crun also takes
// journald:ID and syslog:ID).
func logFile(c Call) string {
	l := c.Global.Get("log")
	if rest, ok := strings.CutPrefix(l, "file:"); ok {
		return rest
	}
	if strings.HasPrefix(l, "journald:") || strings.HasPrefix(l, "syslog:") {
		return ""
	}
	return l
}

// processSpec decodes an exec's --process file data, read from path.
func processSpec(path string, data []byte, f *detect.Facts) detect.Process {
	core.ProcessFromSpec(f, path, bytes.NewReader(data))
	return f.Process
}

// readJSON decodes a bounded JSON file, naming the file in every error.
func readJSON(path string, v any) error {
	data, err := readBounded(path)
	if err != nil {
		return err
	}
	return decodeJSON(path, data, v)
}

// readBounded reads at most one byte more than maxStateBytes of path, so
// decodeJSON can tell an oversized file.
func readBounded(path string) ([]byte, error) {
	f, err := plainfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// decodeJSON decodes what readJSON read from path.
func decodeJSON(path string, data []byte, v any) error {
	if len(data) > maxStateBytes {
		return fmt.Errorf("%s: larger than %d bytes", path, maxStateBytes)
	}
	if err := json.Unmarshal(data, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%s: malformed JSON at byte %d: %w", path, se.Offset, err)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
