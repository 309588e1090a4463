package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/execguard/execguard/install"
)

// exitNode is the status of install, uninstall and status when something
// is wrong on the node (a refused change, a problem reported).
const exitNode = 1

const installSynopsis = `install [flags]

Wires execguard into this node's container engines (containerd, CRI-O): the
runtime wrapper in place of runc/crun, NRI on, the NRI plugin registered.
Prints what changed and what to restart; --dry-run prints the exact diff
and writes nothing. Running it again changes nothing.`

// nodeListFlag collects a repeatable, comma-separated flag.
type nodeListFlag []string

func (l *nodeListFlag) String() string { return strings.Join(*l, ",") }

func (l *nodeListFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// nodeFlags registers the flags shared by install, uninstall and status:
// where things are on the node, and which engines and handlers.
func nodeFlags(fs *flag.FlagSet) *install.Options {
	o := &install.Options{Paths: install.DefaultPaths()}
	o.WrapperSource, o.PluginSource = install.DefaultSources()
	p := &o.Paths
	fs.StringVar(&p.Root, "root", p.Root, "where the node's / is mounted (a DaemonSet's host mount)")
	fs.Var((*nodeListFlag)(&o.Engines), "engine", "containerd or crio (repeatable; default: every engine found)")
	fs.Var((*nodeListFlag)(&o.Runtimes), "runtime", "runtime handler to wire (repeatable; default: every runc-type containerd handler, CRI-O's runc and crun)")
	fs.StringVar((*string)(&o.NRI), "nri", string(install.NRIPreregistered), "how the NRI plugin runs: preregistered, systemd, external or none")
	fs.StringVar(&o.NRIIndex, "nri-index", "10", "index of the pre-registered NRI plugin")
	fs.IntVar(&o.ContainerdMajor, "containerd-major", 0, "containerd release line, 1 or 2 (default: read from the containerd binary)")
	fs.StringVar(&p.ContainerdConfig, "containerd-config", p.ContainerdConfig, "containerd's main configuration file")
	fs.StringVar(&p.ContainerdDropIn, "containerd-drop-in", p.ContainerdDropIn, "execguard's containerd drop-in")
	fs.StringVar(&p.ContainerdBinary, "containerd-binary", "", "containerd binary to read the version from (default: containerd in the system PATH)")
	fs.StringVar(&p.CRIOConfig, "crio-config", p.CRIOConfig, "CRI-O's main configuration file")
	fs.StringVar(&p.CRIODropInDir, "crio-config-dir", p.CRIODropInDir, "CRI-O's drop-in directory")
	fs.StringVar(&p.Config, "config", p.Config, "execguard's node configuration file")
	fs.StringVar(&p.Policy, "policy-path", p.Policy, "where --policy is installed")
	fs.StringVar(&p.Backup, "backup-dir", p.Backup, "where the manifest and backups are kept")
	fs.StringVar(&p.Wrapper, "wrapper-path", p.Wrapper, "where the wrapper binary is installed")
	fs.StringVar(&p.WrapperDir, "wrapper-dir", p.WrapperDir, "directory of the execguard-<runtime> links containerd runs")
	fs.StringVar(&p.CRIOWrapperDir, "crio-wrapper-dir", p.CRIOWrapperDir, "directory of the runc/crun links CRI-O runs")
	fs.StringVar(&p.PluginBinary, "plugin-path", p.PluginBinary, "where the NRI plugin is installed with --nri=systemd")
	fs.StringVar(&p.SystemdUnit, "systemd-unit", p.SystemdUnit, "the NRI plugin's unit file with --nri=systemd")
	fs.StringVar(&p.PluginLog, "plugin-log", p.PluginLog, "the pre-registered NRI plugin's diagnostic log")
	return o
}

func runInstall(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("install", installSynopsis, stderr)
	opts := nodeFlags(fs)
	fs.StringVar(&opts.WrapperSource, "wrapper", opts.WrapperSource, "the wrapper binary to install (cmd/execguard-runtime)")
	fs.StringVar(&opts.PluginSource, "plugin", opts.PluginSource, "the NRI plugin binary to install (cmd/execguard-nri)")
	fs.StringVar(&opts.PolicySource, "policy", "", "a policy file to install and configure (checked first)")
	dryRun := fs.Bool("dry-run", false, "print the exact diff and write nothing")
	if err := fs.Parse(args); err != nil {
		return flagResult(err)
	}
	if fs.NArg() > 0 {
		return exitUsage, usagef("install takes no arguments")
	}
	res, err := install.Install(*opts, *dryRun)
	if res != nil {
		fmt.Fprint(stdout, res.Report(*dryRun))
	}
	if err != nil {
		return exitNode, err
	}
	return exitOK, nil
}
