package crionode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/test/node"
)

// Close removes every pod, stops CRI-O, kills what is left of the node's
// processes (conmon), deletes leftover containers, unmounts what is left
// under the node directory (storage, namespaces), removes the node's cgroups
// and the directory. It is safe to call twice.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()

	var errs []error
	if n.cmd != nil {
		select {
		case <-n.exited:
		default:
			err := n.stopContainers()
			if err == nil {
				_, err = n.runTimeout(90*time.Second, nil, n.tools.crictl, "--config", n.CrictlConfig, "rmp", "--all", "--force")
			}
			if err != nil {
				select {
				case <-n.exited: // CRI-O died: the cleanup below handles its pods
				case <-time.After(time.Second):
					errs = append(errs, fmt.Errorf("remove pods: %w", err))
				}
			}
			n.stop()
		}
	}
	// What follows only finds work when CRI-O or a conmon died early.
	if err := killProcessesWith(n.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := n.deleteLeftoverContainers(); err != nil {
		errs = append(errs, err)
	}
	if err := node.UnmountUnder(n.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := removeCgroups(n.CgroupParent); err != nil {
		errs = append(errs, err)
	}
	if n.logf != nil {
		_ = n.logf.Close()
	}
	if err := os.RemoveAll(n.Dir); err != nil {
		errs = append(errs, fmt.Errorf("remove node dir: %w", err))
	}
	return errors.Join(errs...)
}

// deleteLeftoverContainers force-deletes every container still in a
// handler's runtime state, with the real runtime.
func (n *Node) deleteLeftoverContainers() error {
	var errs []error
	for handler := range n.opts.RuntimePaths {
		root := n.l.runtimeRoot(handler)
		ids, err := os.ReadDir(root)
		if err != nil {
			continue // nothing ever ran on it
		}
		real := n.opts.RealRuntimes[handler]
		for _, id := range ids {
			if !id.IsDir() {
				continue
			}
			if real == "" {
				errs = append(errs, fmt.Errorf("leftover container %s of handler %s: no real runtime to delete it with", id.Name(), handler))
				continue
			}
			if _, err := n.runTimeout(30*time.Second, nil, real, "--root", root, "delete", "--force", id.Name()); err != nil {
				errs = append(errs, fmt.Errorf("delete leftover container: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// killProcessesWith kills every process whose command line mentions dir
// (CRI-O, conmon, a runtime call: container processes do not) and waits
// for them to go.
func killProcessesWith(dir string) error {
	pids, err := ProcessesWith(dir)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for running(pid) {
			if time.Now().After(deadline) {
				return fmt.Errorf("process %d of the node still running after SIGKILL", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// ProcessesWith lists the processes, other than this one, whose command
// line mentions s.
func ProcessesWith(s string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), s) && running(pid) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// running reports whether pid runs (a zombie waiting for its reaper does not).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// removeCgroups removes the node's cgroup parent and everything CRI-O made
// below it (pod, container and conmon cgroups), deepest first, in every
// hierarchy: each v1 controller, or the v2 unified tree.
func removeCgroups(parent string) error {
	if parent == "" || parent == "/" {
		return nil
	}
	mounts, _ := filepath.Glob("/sys/fs/cgroup/*")
	mounts = append(mounts, "/sys/fs/cgroup")
	var errs []error
	for _, m := range mounts {
		top := filepath.Join(m, parent)
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			// A cgroup goes once its last process has gone, a little after exit.
			var err error
			for range 50 {
				if err = unix.Rmdir(d); err == nil || errors.Is(err, unix.ENOENT) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}
