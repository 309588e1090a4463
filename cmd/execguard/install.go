package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/install"
	"github.com/execguard/execguard/install/containerd"
	"github.com/execguard/execguard/install/privdir"
)

// exitNode is the status of install, uninstall and status when something
// is wrong on the node (a refused change, a problem reported).
const exitNode = 1

// nodeFlags registers the flags shared by install, uninstall and status:
// where things are on the node, and which engines and handlers.
func nodeFlags(fs *pflag.FlagSet) *install.Options {
	o := &install.Options{Paths: install.DefaultPaths()}
	o.WrapperSource, o.PluginSource = install.DefaultSources()
	p := &o.Paths
	fs.StringVar(&p.Root, "root", p.Root, "where the node's / is mounted (a DaemonSet's host mount)")
	fs.StringVar(&p.Shim, "shim-path", p.Shim, "where execguard's containerd shim is installed (the handlers' runtime_path)")
	fs.StringSliceVar(&o.Engines, "engine", nil, "containerd or crio (repeatable, or comma-separated; default: every engine found)")
	fs.StringSliceVar(&o.Runtimes, "runtime", nil, "runtime handler to wire (repeatable; default: every runc-type containerd handler, CRI-O's runc and crun)")
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

func (a *app) installCommand() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use: "install [flags]",
		// The README shows this line (execguard --help); keep them together.
		Short: "put the wrapper in front of containerd's and CRI-O's runtimes, register the NRI plugin",
		Long: `Wires execguard into this node's container engines (containerd, CRI-O):
containerd's runc handlers run execguard's shim (--front shim, the default)
or the runtime wrapper in place of runc (--front wrapper); CRI-O's runc and
crun handlers run the wrapper; NRI on, the NRI plugin registered.
Prints what changed and what to restart; --dry-run prints the exact diff
and writes nothing. Running it again changes nothing.`,
		Args: noArgs,
	}
	opts := nodeFlags(cmd.Flags())
	cmd.Flags().StringVar(&opts.WrapperSource, "wrapper", opts.WrapperSource, "the wrapper binary to install (cmd/execguard-runtime)")
	cmd.Flags().StringVar(&opts.PluginSource, "plugin", opts.PluginSource, "the NRI plugin binary to install (this execguard binary)")
	opts.ShimSource = install.DefaultShimSource()
	cmd.Flags().StringVar(&opts.ShimSource, "shim-binary", opts.ShimSource, "the containerd shim binary to install (containerd-shim-execguard-v2)")
	cmd.Flags().StringVar((*string)(&opts.Front), "front", string(install.FrontAuto),
		"how containerd's runc handlers are wired: shim (execguard's containerd shim), wrapper (BinaryName of containerd's runc shim) or auto (the shim for containerd, the wrapper for CRI-O, which has no shim front)")
	cmd.Flags().StringVar(&opts.ShimRuntimeType, "shim-runtime-type", containerd.RuncV2,
		"runtime_type of handlers on the shim (runtime_path starts the shim either way): "+containerd.RuncV2+" keeps containerd passing the runc shim's typed options; "+
			containerd.ShimType+" makes containerd pass them as runtimeoptions.v1.Options (a TOML body the shim must decode)")
	cmd.Flags().StringVar(&opts.PolicySource, "policy", "", "a policy file to install and configure (checked first)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the exact diff and write nothing")
	cmd.RunE = a.action(func(*cobra.Command, []string) (int, error) {
		res, err := install.Install(*opts, dryRun)
		if res != nil {
			fmt.Fprint(a.stdout, res.Report(dryRun))
		}
		if err != nil {
			return exitNode, err
		}
		if !dryRun {
			if err := a.tightenPrivateDirs(opts.Paths); err != nil {
				return exitNode, err
			}
		}
		return exitOK, nil
	})
	return cmd
}

// tightenPrivateDirs takes other users' access away from the state and
// event-log directories execguard's configuration names, when something
// else made them first (a DaemonSet's hostPath volume makes them 0755).
func (a *app) tightenPrivateDirs(p install.Paths) error {
	root := p.Root
	if root == "" {
		root = "/"
	}
	cfg, err := config.Load(filepath.Join(root, p.Config))
	if err != nil {
		return fmt.Errorf("private directories: %w", err)
	}
	for _, dir := range []string{cfg.StateDir, filepath.Dir(cfg.EventLog)} {
		ch, err := privdir.Tighten(root, dir, os.Geteuid())
		if err != nil {
			return err
		}
		if ch != nil {
			fmt.Fprintf(a.stdout, "private directory %s\n", ch)
		}
	}
	return nil
}
