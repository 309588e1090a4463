package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/execguard/execguard/detect"
)

// fixture is one captured runtime call (testdata/runtime-calls/<case>).
type fixture struct {
	name   string
	dir    string
	argv   []string
	expect struct {
		Subcommand  string  `json:"subcommand"`
		ContainerID *string `json:"container_id"`
		ProcessFile *string `json:"process_file"`
		Bundle      *string `json:"bundle"`
		Interactive bool    `json:"interactive"`
		Detached    bool    `json:"detached"`
		Caller      string  `json:"caller"`
	}
	// parent is caller.json, where the capture recorded the parent process.
	parent struct {
		Comm    string `json:"parent_comm"`
		Cmdline string `json:"parent_cmdline"`
	}
}

func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	dirs, err := filepath.Glob("testdata/runtime-calls/*/argv.json")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures under testdata/runtime-calls: %v", err)
	}
	var out []fixture
	for _, argvPath := range dirs {
		dir := filepath.Dir(argvPath)
		fx := fixture{name: filepath.Base(dir), dir: dir}
		mustReadJSON(t, argvPath, &fx.argv)
		mustReadJSON(t, filepath.Join(dir, "expect.json"), &fx.expect)
		if _, err := os.Stat(filepath.Join(dir, "caller.json")); err == nil {
			mustReadJSON(t, filepath.Join(dir, "caller.json"), &fx.parent)
		}
		out = append(out, fx)
	}
	return out
}

func mustReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestParseFixtures checks every captured command line against the facts its
// expect.json states that the argv alone gives.
func TestParseFixtures(t *testing.T) {
	for _, fx := range loadFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			c, err := Parse(fx.argv)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.Subcommand != fx.expect.Subcommand {
				t.Errorf("subcommand = %q, want %q", c.Subcommand, fx.expect.Subcommand)
			}
			_, decision := decisionFlags(c.Subcommand)
			if decides(c, nil) != decision {
				t.Errorf("decides = %v, want %v", !decision, decision)
			}
			c, err = c.Complete()
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if id := c.ContainerID; id != str(fx.expect.ContainerID) {
				t.Errorf("container id = %q, want %q", id, str(fx.expect.ContainerID))
			}
			if got := c.Flags.Get("process"); got != str(fx.expect.ProcessFile) {
				t.Errorf("process file = %q, want %q", got, str(fx.expect.ProcessFile))
			}
			if got := c.Flags.Bool("detach"); got != fx.expect.Detached {
				t.Errorf("detached = %v, want %v", got, fx.expect.Detached)
			}
			if got := ArgvBundle(c); got != str(fx.expect.Bundle) {
				t.Errorf("bundle = %q, want %q", got, str(fx.expect.Bundle))
			}
			// A bare "features" call carries nothing of its caller: only the
			// parent's name tells (TestClassifyCallerByParent).
			if got := classifyCaller(c, fx.parent.Comm); got != fx.expect.Caller && c.Subcommand != "features" {
				t.Errorf("caller = %q, want %q (parent %q)", got, fx.expect.Caller, fx.parent.Comm)
			}
		})
	}
}

// TestInteractiveFixtures runs Gather on every decision call, with the
// process file and bundle pointed at the captured copies, and checks the
// terminal fact.
func TestInteractiveFixtures(t *testing.T) {
	for _, fx := range loadFixtures(t) {
		if fx.expect.Subcommand != "exec" && fx.expect.Subcommand != "create" {
			continue
		}
		t.Run(fx.name, func(t *testing.T) {
			argv := append([]string(nil), fx.argv...)
			procCopy, _ := filepath.Abs(filepath.Join(fx.dir, "process.json"))
			cfgCopy, _ := filepath.Abs(filepath.Join(fx.dir, "config.json"))
			_, cfgErr := os.Stat(cfgCopy)
			for i := range argv {
				if i > 0 && (argv[i-1] == "--process" || argv[i-1] == "-p") {
					argv[i] = procCopy
				}
				if i > 0 && argv[i-1] == "--bundle" && cfgErr == nil {
					argv[i] = fx.dir
				}
			}
			c, err := Parse(argv)
			if err != nil {
				t.Fatal(err)
			}
			if fx.expect.Subcommand == "create" && cfgErr != nil {
				// Podman creates: config.json was not captured; a tty container
				// is created with --console-socket.
				if got := c.Flags.Has("console-socket"); got != fx.expect.Interactive {
					t.Errorf("console socket = %v, want %v", got, fx.expect.Interactive)
				}
				return
			}
			f := Gather(c, "runc", "")
			if !f.Process.Known {
				t.Fatalf("process unknown: %v", f.Problems)
			}
			if f.Process.Terminal != fx.expect.Interactive {
				t.Errorf("terminal = %v, want %v", f.Process.Terminal, fx.expect.Interactive)
			}
			if len(f.Process.Args) == 0 {
				t.Errorf("no process args")
			}
			if fx.expect.Subcommand == "create" && f.Container.Name == "" && strings.Contains(fx.name, "v2") {
				t.Errorf("CRI create without a container name from annotations")
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		argv     []string
		sub, id  string
		global   Flags
		flags    Flags
		operands []string
		info     bool
		wantErr  string
	}{
		{
			name:   "equals and space forms mixed, repeats keep order",
			argv:   []string{"rt", "--root=/a", "--log-format", "json", "--root", "/b", "state", "x"},
			sub:    "state",
			global: Flags{"root": {"/a", "/b"}, "log-format": {"json"}},
			flags:  Flags{},
		},
		{
			name: "value flag takes a value starting with a dash",
			argv: []string{"rt", "--log", "-weird", "exec", "-p", "p.json", "id"},
			sub:  "exec", id: "id",
			global: Flags{"log": {"-weird"}},
			flags:  Flags{"process": {"p.json"}},
		},
		{
			name: "exec stops at the id; the command may start with a dash",
			argv: []string{"rt", "exec", "-d", "--tty", "id", "ls", "-d", "--tty", "/tmp"},
			sub:  "exec", id: "id",
			global:   Flags{},
			flags:    Flags{"detach": {"true"}, "tty": {"true"}},
			operands: []string{"ls", "-d", "--tty", "/tmp"},
		},
		{
			name: "crun tty takes no separate value",
			argv: []string{"rt", "exec", "--tty", "false", "sh"},
			sub:  "exec", id: "false",
			global:   Flags{},
			flags:    Flags{"tty": {"true"}},
			operands: []string{"sh"},
		},
		{
			name: "tty=false and tty=no",
			argv: []string{"rt", "exec", "--tty=no", "-t=false", "id", "sh"},
			sub:  "exec", id: "id",
			global: Flags{}, flags: Flags{"tty": {"no", "false"}}, operands: []string{"sh"},
		},
		{
			name: "bundled short flags and attached value",
			argv: []string{"rt", "exec", "-dt", "-pFILE", "-e", "A=1", "-e", "B=2", "id", "sh"},
			sub:  "exec", id: "id",
			global:   Flags{},
			flags:    Flags{"detach": {"true"}, "tty": {"true"}, "process": {"FILE"}, "env": {"A=1", "B=2"}},
			operands: []string{"sh"},
		},
		{
			name: "single-dash long names (runc)",
			argv: []string{"rt", "-root", "/r", "exec", "-process", "f", "id"},
			sub:  "exec", id: "id",
			global: Flags{"root": {"/r"}}, flags: Flags{"process": {"f"}},
		},
		{
			name: "double dash ends exec options",
			argv: []string{"rt", "exec", "--", "id", "-x"},
			sub:  "exec", id: "id",
			global: Flags{}, flags: Flags{}, operands: []string{"-x"},
		},
		{
			name: "create flags after the id (runc reorders)",
			argv: []string{"rt", "create", "id", "--bundle", "/b"},
			sub:  "create", id: "id",
			global: Flags{}, flags: Flags{"bundle": {"/b"}},
		},
		{name: "version", argv: []string{"rt", "--version"}, global: Flags{"version": {"true"}}, flags: Flags{}, info: true},
		{name: "crun -V", argv: []string{"rt", "-V"}, global: Flags{"version": {"true"}}, flags: Flags{}, info: true},
		{name: "exec --help", argv: []string{"rt", "exec", "--help"}, sub: "exec", global: Flags{}, flags: Flags{"help": {"true"}}, info: true},
		{name: "features", argv: []string{"rt", "features"}, sub: "features", global: Flags{}, flags: Flags{}},
		{name: "unknown global flag", argv: []string{"rt", "--frobnicate", "exec", "id"}, global: Flags{}, flags: Flags{}, wantErr: `argument 1 "--frobnicate": unknown flag`},
		{name: "unknown exec flag", argv: []string{"rt", "exec", "--frob", "id"}, sub: "exec", global: Flags{}, flags: Flags{}, wantErr: `exec: argument 2 "--frob": unknown flag`},
		{name: "value flag at the end", argv: []string{"rt", "--root"}, global: Flags{}, flags: Flags{}, wantErr: "flag needs a value"},
		{name: "no subcommand", argv: []string{"rt", "--debug"}, global: Flags{"debug": {"true"}}, flags: Flags{}, wantErr: "no subcommand"},
		{name: "exec without id", argv: []string{"rt", "exec", "-d"}, sub: "exec", global: Flags{}, flags: Flags{"detach": {"true"}}, wantErr: "exec: no container id"},
		{name: "bad boolean", argv: []string{"rt", "--debug=maybe", "state", "x"}, global: Flags{}, flags: Flags{}, wantErr: "non-boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.argv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.Subcommand != tt.sub || c.ContainerID != tt.id || c.Info != tt.info {
				t.Errorf("sub, id, info = %q, %q, %v; want %q, %q, %v", c.Subcommand, c.ContainerID, c.Info, tt.sub, tt.id, tt.info)
			}
			if !reflect.DeepEqual(c.Global, tt.global) {
				t.Errorf("global = %v, want %v", c.Global, tt.global)
			}
			if !reflect.DeepEqual(c.Flags, tt.flags) {
				t.Errorf("flags = %v, want %v", c.Flags, tt.flags)
			}
			if len(c.Operands) != 0 || len(tt.operands) != 0 {
				if !reflect.DeepEqual(c.Operands, tt.operands) {
					t.Errorf("operands = %q, want %q", c.Operands, tt.operands)
				}
			}
		})
	}
}

func TestFlagsBool(t *testing.T) {
	f := Flags{"a": {"true"}, "b": {"false"}, "c": {"no"}, "d": {"yes"}, "e": {"true", "false"}}
	for name, want := range map[string]bool{"a": true, "b": false, "c": false, "d": true, "e": false, "missing": false} {
		if got := f.Bool(name); got != want {
			t.Errorf("Bool(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestClassifyCallerByParent(t *testing.T) {
	c, _ := Parse([]string{"runc", "features"})
	for comm, want := range map[string]string{
		"containerd-shim": CallerContainerd, "conmon": CallerConmon, "conmon-rs": CallerConmonRS,
		"crio": CallerCRIO, "podman": CallerPodman, "bash": CallerManual, "": CallerManual,
	} {
		if got := classifyCaller(c, comm); got != want {
			t.Errorf("parent %q: caller = %q, want %q", comm, got, want)
		}
	}
}

// TestExecKindFixtures: the probe trap. ExecSync calls that arrive with a
// terminal (CRI-O through conmon, conmon-rs) are not interactive sessions;
// podman exec -it through conmon is.
func TestExecKindFixtures(t *testing.T) {
	want := map[string]struct {
		kind        detect.ExecKind
		interactive bool
	}{
		"crio-execsync-tty-container":      {detect.ExecSync, false},
		"crio-execsync-notty":              {detect.ExecSync, false},
		"conmon-rs-execsync-tty-container": {detect.ExecSync, false},
		"conmon-rs-exec-tty":               {detect.ExecStream, true},
		"conmon-rs-exec-notty":             {detect.ExecStream, false},
		"crio-stream-exec-tty":             {detect.ExecStream, true},
		"crio-stream-exec-notty":           {detect.ExecStream, false},
		"podman-runc-exec-tty":             {detect.ExecEngine, true},
		"podman-crun-exec-tty":             {detect.ExecEngine, true},
		"podman-runc-exec-notty":           {detect.ExecEngine, false},
		"containerd-v2-exec-tty":           {detect.ExecEngine, true},
		"containerd-v2-ctr-exec-tty":       {detect.ExecEngine, true},
		"containerd-v2-exec-notty":         {detect.ExecEngine, false},
	}
	seen := 0
	for _, fx := range loadFixtures(t) {
		w, ok := want[fx.name]
		if !ok {
			continue
		}
		seen++
		t.Run(fx.name, func(t *testing.T) {
			c, err := Parse(fx.argv)
			if err != nil {
				t.Fatal(err)
			}
			caller := classifyCaller(c, fx.parent.Comm)
			// The manager annotation CRI-O and Podman put on every container;
			// these captures did not keep the config.json.
			manager := ""
			switch {
			case strings.HasPrefix(fx.name, "crio-"), strings.HasPrefix(fx.name, "conmon-rs-"):
				manager = "cri-o"
			case strings.HasPrefix(fx.name, "podman-"):
				manager = "libpod"
			}
			kind := execKind(caller, c, strings.Fields(fx.parent.Cmdline), manager)
			if kind != w.kind {
				t.Errorf("exec kind = %q, want %q", kind, w.kind)
			}
			// Without the parent's command line, the manager alone decides.
			if caller == CallerConmon {
				if k := execKind(caller, c, nil, manager); k != w.kind {
					t.Errorf("exec kind from the manager annotation alone = %q, want %q", k, w.kind)
				}
			}
			f := detect.Facts{Operation: detect.OpExec, ExecKind: kind,
				Process: detect.Process{Known: true, Terminal: fx.expect.Interactive}}
			if got := detect.InteractiveEntryLeader(f); got != w.interactive {
				t.Errorf("interactive entry leader = %v, want %v", got, w.interactive)
			}
		})
	}
	if seen != len(want) {
		t.Errorf("ran %d of %d cases: a fixture is missing", seen, len(want))
	}
}

func TestConmonName(t *testing.T) {
	for _, fx := range loadFixtures(t) {
		if fx.parent.Comm != "conmon" {
			continue
		}
		if got := conmonName(strings.Fields(fx.parent.Cmdline)); got != "c-runc" && got != "c-crun" {
			t.Errorf("%s: conmon name = %q", fx.name, got)
		}
	}
	if got := conmonName([]string{"conmon", "-c", "id"}); got != "" {
		t.Errorf("no -n: %q", got)
	}
}
