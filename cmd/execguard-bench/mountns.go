package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// crun 1.8 refuses a hybrid cgroup layout, v1 controllers beside a cgroup2
// mount ("cgroups in hybrid mode not supported, drop all controllers from
// cgroupv2"). A crun run therefore re-executes itself in a private mount
// namespace where the cgroup2 mounts are covered by empty tmpfs: crun sees
// plain v1, and what it writes for the unified hierarchy lands in a tmpfs
// that goes with the namespace rather than on the host's /sys/fs/cgroup.
// Both sides of every comparison run in that same namespace.

// privateCgroupEnv marks the re-executed process.
const privateCgroupEnv = "EXECGUARD_BENCH_PRIVATE_CGROUP"

// hybridCgroup2Mounts returns the cgroup2 mount points of a mountinfo table
// (proc(5)) that also has cgroup v1 mounts; none for a pure v1 or v2 layout.
func hybridCgroup2Mounts(mountinfo string) ([]string, error) {
	var v1 bool
	var v2 []string
	sc := bufio.NewScanner(strings.NewReader(mountinfo))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		// ID parent major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(line, " - ")
		fields, postFields := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 6 || len(postFields) < 1 {
			return nil, fmt.Errorf("mountinfo line %d: %q: not a mount", n, line)
		}
		switch postFields[0] {
		case "cgroup":
			v1 = true
		case "cgroup2":
			v2 = append(v2, unescapeMountinfo(fields[4]))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mountinfo: %w", err)
	}
	if !v1 {
		return nil, nil
	}
	return v2, nil
}

// unescapeMountinfo undoes the kernel's octal escapes of space, tab,
// newline and backslash in a mountinfo path.
func unescapeMountinfo(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// reexecPrivateCgroup runs this program again, with the same arguments, in a
// private mount namespace (Go marks / recursively private in the child, as
// unshare(1) does), and returns its exit code. Signals go on to the child,
// which cleans up its container; this process only waits.
func reexecPrivateCgroup() (int, error) {
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), privateCgroupEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 1, fmt.Errorf("private mount namespace: %w", err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if code := exit.ExitCode(); code >= 0 {
			return code, nil
		}
		return 1, fmt.Errorf("private mount namespace: %w", err)
	}
	if err != nil {
		return 1, fmt.Errorf("private mount namespace: %w", err)
	}
	return 0, nil
}

// coverCgroup2 covers each cgroup2 mount with an empty tmpfs; it runs in the
// re-executed process, inside the private mount namespace.
func coverCgroup2(mounts []string) error {
	// The runtimes need not see the marker.
	if err := os.Unsetenv(privateCgroupEnv); err != nil {
		return fmt.Errorf("environment: %w", err)
	}
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount %s: %w", m, err)
		}
		if err := unix.Mount("execguard-bench", m, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=1m,mode=755"); err != nil {
			return fmt.Errorf("tmpfs over %s: %w", m, err)
		}
	}
	return nil
}

// currentHybridMounts reads this process's mount table.
func currentHybridMounts() ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("mount table: %w", err)
	}
	return hybridCgroup2Mounts(string(data))
}
