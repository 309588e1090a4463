package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Containerd17 as Options.Containerd selects containerd 1.7 as
// test/setup-node.sh installs it: in Containerd17DirEnv, or
// DefaultContainerd17Dir when that is unset.
const Containerd17 = "1.7"

// Containerd17DirEnv names the directory of containerd 1.7's containerd, ctr
// and containerd-shim-runc-v2; test/setup-node.sh builds them there.
const Containerd17DirEnv = "CONTAINERD_1_7_BIN_DIR"

// DefaultContainerd17Dir is where test/setup-node.sh puts containerd 1.7,
// apart from the 2.x binaries in /usr/local/bin.
const DefaultContainerd17Dir = "/usr/local/lib/execguard-e2e/containerd-1.7/bin"

// containerdBinaries are the binaries an install directory must hold.
func containerdBinaries() []string {
	return []string{"containerd", "ctr", "containerd-shim-runc-v2"}
}

// ContainerdDir resolves an Options.Containerd value to the directory
// holding containerd, ctr and containerd-shim-runc-v2: "" is the default
// install found in PATH (and returns ""), Containerd17 the 1.7 install, and
// an absolute path that directory. The binaries must be there.
func ContainerdDir(sel string) (string, error) {
	dir := sel
	switch {
	case sel == "":
		return "", nil
	case sel == Containerd17:
		dir = os.Getenv(Containerd17DirEnv)
		if dir == "" {
			dir = DefaultContainerd17Dir
		}
	case !filepath.IsAbs(sel):
		return "", fmt.Errorf("containerd install %q: want %q, an absolute directory or empty", sel, Containerd17)
	}
	var missing []string
	for _, name := range containerdBinaries() {
		if err := unix.Access(filepath.Join(dir, name), unix.X_OK); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("containerd install %q: %s missing in %s (run test/setup-node.sh as root)",
			sel, strings.Join(missing, ", "), dir)
	}
	return dir, nil
}

// containerdVersion runs containerd --version and returns the version
// ("1.7.35") and its major and minor numbers.
func containerdVersion(bin string) (version string, major, minor int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return "", 0, 0, fmt.Errorf("%s --version: %w", bin, err)
	}
	return parseContainerdVersion(string(out))
}

// parseContainerdVersion reads `containerd <package> <version> <revision>`.
func parseContainerdVersion(out string) (version string, major, minor int, err error) {
	fields := strings.Fields(out)
	if len(fields) < 3 || fields[0] != "containerd" {
		return "", 0, 0, fmt.Errorf("containerd --version printed %q, want containerd <package> <version>", out)
	}
	version, _, _ = strings.Cut(strings.TrimPrefix(fields[2], "v"), "+")
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return "", 0, 0, fmt.Errorf("containerd version %q is not major.minor[.patch]", fields[2])
	}
	if major, err = strconv.Atoi(parts[0]); err == nil {
		minor, err = strconv.Atoi(parts[1])
	}
	if err != nil {
		return "", 0, 0, fmt.Errorf("containerd version %q: %w", fields[2], err)
	}
	return version, major, minor, nil
}

// configRenderer picks the config version a containerd reads: 3 for 2.x,
// 2 for 1.7 (the first with NRI).
func configRenderer(version string, major, minor int) (func(layout, configParams) (string, error), error) {
	switch {
	case major == 2:
		return containerdConfig, nil
	case major == 1 && minor == 7:
		return containerdConfigV2, nil
	}
	return nil, fmt.Errorf("containerd %s is not supported: want 1.7 or 2.x", version)
}
