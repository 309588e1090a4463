package main

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// makeBundle writes an OCI bundle at dir: a busybox rootfs and a config.json
// for a long-sleeping container.
func makeBundle(dir, busybox string) error {
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return fmt.Errorf("rootfs: %w", err)
		}
	}
	if err := checkStatic(busybox); err != nil {
		return err
	}
	if err := copyFile(busybox, filepath.Join(rootfs, "bin", "busybox"), 0o755); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	// The container and the execs use nothing else.
	for _, a := range []string{"sh", "sleep", "true", "id"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", a)); err != nil {
			return fmt.Errorf("rootfs: %w", err)
		}
	}
	return writeJSON(filepath.Join(dir, "config.json"), containerSpec())
}

// checkStatic refuses a dynamically linked busybox: the rootfs has no
// loader or libc, and the container would fail with an obscure exec error.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("busybox %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("busybox %s is dynamically linked; a static busybox is needed (Debian: busybox-static)", path)
		}
	}
	return nil
}

// ociVersion is what Podman 4 writes, and a version crun 1.8 accepts: it
// refuses any ociVersion without "1.0" in it ("unknown version specified").
const ociVersion = "1.0.2-dev"

func containerSpec() *specs.Spec {
	return &specs.Spec{
		Version:  ociVersion,
		Root:     &specs.Root{Path: "rootfs", Readonly: true},
		Hostname: "execguard-bench",
		Process: &specs.Process{
			Terminal:        false,
			User:            specs.User{UID: 0, GID: 0},
			Args:            []string{"sleep", "100000"},
			Env:             []string{"PATH=/bin"},
			Cwd:             "/",
			Capabilities:    caps(),
			NoNewPrivileges: true,
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			// A private devpts instance: runc allocates the exec's pty here.
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}},
		},
		Linux: &specs.Linux{
			// No network namespace: the benchmark needs none, and the host's
			// is shared. No cgroupsPath: runc names the cgroup after the
			// container id, on v1 and v2 alike, and removes it on delete.
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
			},
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			MaskedPaths:   []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

// execProcess is the process file of an interactive exec, shaped like the
// ones containerd's CRI writes for `crictl exec -it` and Podman for
// `podman exec -it`: terminal true, TERM set.
func execProcess() *specs.Process {
	return &specs.Process{
		Terminal:     true,
		User:         specs.User{UID: 0, GID: 0},
		Args:         []string{"true"},
		Env:          []string{"PATH=/bin", "TERM=xterm"},
		Cwd:          "/",
		Capabilities: caps(),
	}
}

// caps are the defaults containerd gives a container, so runc's capability
// work for the exec matches a real one.
func caps() *specs.LinuxCapabilities {
	list := func() []string {
		return []string{
			"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
			"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
			"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
		}
	}
	return &specs.LinuxCapabilities{Bounding: list(), Effective: list(), Permitted: list()}
}

func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}
