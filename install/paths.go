// Package install wires execguard into a node: execguard's shim for
// containerd's runc handlers (runtime_type and runtime_path, through a
// drop-in that containerd imports) or the runtime wrapper in place of
// runc/crun (containerd's BinaryName; CRI-O's runtime_path, through a
// drop-in under crio.conf.d), NRI on, and the NRI plugin registered. It also takes it all
// out again and reports how the node stands.
//
// Every file is written to a temporary name and renamed; anything replaced
// is backed up first and recorded in a manifest, from which uninstall puts
// back exactly what was there. All host paths are relative to Paths.Root,
// so the installer can configure a host mounted elsewhere (a DaemonSet's
// /host) or a test's temp dir.
package install

import (
	"path/filepath"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/install/containerd"
	"github.com/execguard/execguard/install/crio"
)

// Paths are the host paths the installer reads and writes, as the node's
// own processes see them; Root says where that file system is mounted.
type Paths struct {
	// Root is where the host's / is ("" or "/": this machine).
	Root string
	// Shim is execguard's containerd shim (the shim front): the handlers'
	// runtime_path, in a directory of containerd's PATH.
	Shim string
	// Wrapper is the wrapper binary (cmd/execguard-runtime).
	Wrapper string
	// WrapperDir holds the execguard-<runtime> links containerd's
	// BinaryName points at.
	WrapperDir string
	// CRIOWrapperDir holds links named after the runtimes themselves (runc,
	// crun) for CRI-O's runtime_path: conmon-rs and Podman choose flags
	// from the runtime's base name.
	CRIOWrapperDir string
	// Config is execguard's node configuration ([runtimes] real paths).
	Config string
	// Policy is where a policy given to install goes (config key policy).
	Policy string
	// Backup holds the manifest and the backups.
	Backup string

	ContainerdConfig string
	ContainerdDropIn string
	// ContainerdBinary is read (never run) for its version; "" looks for
	// containerd in the system PATH.
	ContainerdBinary string

	CRIOConfig    string
	CRIODropInDir string
	// CRIOBinary tells that CRI-O is installed; "" looks for crio.
	CRIOBinary string

	// PluginBinary is where the NRI plugin goes when it runs as a systemd
	// service, and SystemdUnit its unit file.
	PluginBinary string
	SystemdUnit  string
	// PluginLog is the pre-registered plugin's diagnostic log (a launched
	// plugin's stderr is discarded).
	PluginLog string
}

// DefaultPaths are the standard locations.
func DefaultPaths() Paths {
	return Paths{
		Root:             "/",
		Shim:             "/usr/local/bin/" + containerd.ShimBinary,
		Wrapper:          "/usr/local/bin/execguard-runtime",
		WrapperDir:       "/usr/local/bin",
		CRIOWrapperDir:   "/usr/local/libexec/execguard",
		Config:           config.DefaultPath,
		Policy:           "/etc/execguard/policy.yaml",
		Backup:           "/var/lib/execguard/backup",
		ContainerdConfig: containerd.DefaultConfig,
		ContainerdDropIn: containerd.DefaultDropIn,
		CRIOConfig:       crio.DefaultConfig,
		CRIODropInDir:    crio.DefaultDropInDir,
		PluginBinary:     "/usr/local/bin/execguard-nri",
		SystemdUnit:      "/etc/systemd/system/execguard-nri.service",
		PluginLog:        "/var/log/execguard/nri.log",
	}
}

// withDefaults fills empty fields from DefaultPaths.
func (p Paths) withDefaults() Paths {
	d := DefaultPaths()
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&p.Root, d.Root)
	set(&p.Shim, d.Shim)
	set(&p.Wrapper, d.Wrapper)
	set(&p.WrapperDir, d.WrapperDir)
	set(&p.CRIOWrapperDir, d.CRIOWrapperDir)
	set(&p.Config, d.Config)
	set(&p.Policy, d.Policy)
	set(&p.Backup, d.Backup)
	set(&p.ContainerdConfig, d.ContainerdConfig)
	set(&p.ContainerdDropIn, d.ContainerdDropIn)
	set(&p.CRIOConfig, d.CRIOConfig)
	set(&p.CRIODropInDir, d.CRIODropInDir)
	set(&p.PluginBinary, d.PluginBinary)
	set(&p.SystemdUnit, d.SystemdUnit)
	set(&p.PluginLog, d.PluginLog)
	return p
}

// wrapperLink is the containerd BinaryName for runtime name.
func (p Paths) wrapperLink(name string) string {
	return filepath.Join(p.WrapperDir, config.WrapperPrefix+name)
}

// crioLink is the CRI-O runtime_path for runtime name.
func (p Paths) crioLink(name string) string {
	return filepath.Join(p.CRIOWrapperDir, name)
}

// linkTarget is what a link at link points to: relative when the wrapper
// is beside it, so the link is right wherever the host is mounted.
func (p Paths) linkTarget(link string) string {
	if filepath.Dir(link) == filepath.Dir(p.Wrapper) {
		return filepath.Base(p.Wrapper)
	}
	if rel, err := filepath.Rel(filepath.Dir(link), p.Wrapper); err == nil {
		return rel
	}
	return p.Wrapper
}
