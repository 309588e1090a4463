package install

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/execguard/execguard/install/containerd"
	"github.com/execguard/execguard/install/fsplan"
	"github.com/execguard/execguard/install/tomledit"
)

// Uninstall puts back what install changed, from the manifest: each path
// that still holds what install wrote gets its prior content (or goes away
// when there was none); a containerd main file edited since keeps the
// user's edits and loses only the import line install added. Any other
// path changed since is a conflict, left alone unless Force.
//
// The wrapper, its links, the shim and execguard's configuration stay
// while containers still use them (their runc shims keep the BinaryName
// they were created with, and containerd runs a pod's shim binary again to
// start containers in it and to clean up after it: without them those
// containers could no longer be started, stopped or exec'd); uninstall
// again once those containers are gone, or use Force.
func Uninstall(opts Options, dryRun bool) (*Result, error) {
	opts, err := opts.normalized()
	if err != nil {
		return nil, err
	}
	host := fsplan.Host{Root: opts.Root}
	store := fsplan.Store{Host: host, Dir: opts.Backup}
	j, ok, err := store.Load()
	if err != nil {
		return nil, err
	}
	res := &Result{uninstall: true}
	if !ok {
		res.Notes = append(res.Notes, "execguard is not installed here (no manifest at "+store.ManifestPath()+")")
		return res, nil
	}

	users, err := wrapperUsers(opts, host, j)
	keep := (len(users) > 0 || err != nil) && !opts.Force
	if err != nil && keep {
		res.Notes = append(res.Notes, fmt.Sprintf("could not tell which containers still use the shim or the wrapper (%v): the shim, the wrapper, its links and %s stay; --force removes them", err, opts.Config))
	}
	if len(users) > 0 && keep {
		res.Notes = append(res.Notes, fmt.Sprintf("%d container(s) still run on execguard's shim or through the wrapper (%s): the shim, the wrapper, its links and %s stay until they are gone; run execguard uninstall again then (or --force)",
			len(users), summarize(users, 5), opts.Config))
	}

	var changes []fsplan.Change
	var done []string
	var conflicts []string
	groups := map[string]bool{}
	for i := len(j.Entries) - 1; i >= 0; i-- {
		e := j.Entries[i]
		if keep && (e.Group == groupWrapper || e.Group == groupConfig || e.Group == groupShim) {
			continue
		}
		have, err := host.Read(e.Path)
		if err != nil {
			return nil, err
		}
		switch {
		case e.Prior.Matches(have):
			done = append(done, e.Path) // already as it was
			continue
		case e.Installed.Matches(have) || opts.Force:
			prior, err := store.PriorState(e)
			if err != nil {
				return nil, err
			}
			changes = append(changes, fsplan.Change{Path: e.Path, Want: prior, Why: "restore"})
		case e.Inserted != "" && have.Kind == fsplan.File:
			out, ok := tomledit.RemoveInserted(have.Data, e.Inserted)
			if !ok {
				conflicts = append(conflicts, e.Path+": changed since install and the import install added is not found once")
				continue
			}
			if err := checkImportGone(e.Path, out, opts.ContainerdDropIn); err != nil {
				conflicts = append(conflicts, err.Error())
				continue
			}
			changes = append(changes, fsplan.Change{Path: e.Path, Want: fsplan.State{Kind: fsplan.File, Data: out, Mode: have.Mode},
				Why: "take out the import (the file changed since install; your changes stay)"})
			res.Notes = append(res.Notes, e.Path+" changed since install: only the import line install added is taken out")
		default:
			conflicts = append(conflicts, fmt.Sprintf("%s: changed since install (now %s); left alone (--force restores the backup)", e.Path, have))
			continue
		}
		done = append(done, e.Path)
		groups[e.Group] = true
	}
	plan, err := host.Plan(changes)
	if err != nil {
		return nil, err
	}
	res.Plan = plan
	res.Notes = append(res.Notes, conflicts...)
	if groups[groupContainerd] {
		res.Next = append(res.Next, "restart containerd (systemctl restart containerd): new containers then run containerd's runc shim and the real runtime again; containers and pods created while execguard was installed keep its shim or the wrapper until they are recreated")
	}
	if groups[groupCRIO] {
		res.Next = append(res.Next, "restart CRI-O (systemctl restart crio)")
	}
	if groups[groupNRI] && slices.Contains(done, opts.SystemdUnit) {
		res.Next = append(res.Next, "systemctl disable --now "+filepath.Base(opts.SystemdUnit)+" && systemctl daemon-reload")
	}
	if dryRun {
		return res, nil
	}
	if err := store.Restore(plan, done); err != nil {
		return res, err
	}
	res.Applied = true
	if len(conflicts) > 0 {
		return res, fmt.Errorf("%d file(s) changed since install were left alone: %s", len(conflicts), strings.Join(conflicts, "; "))
	}
	return res, nil
}

// checkImportGone verifies that the edited main file parses and no longer
// imports the drop-in by name.
func checkImportGone(path string, data []byte, dropIn string) error {
	tree, err := tomledit.Parse(path, data)
	if err != nil {
		return fmt.Errorf("%s: taking out the import would leave an invalid file: %w", path, err)
	}
	list, _ := tree["imports"].([]any)
	for _, v := range list {
		if s, _ := v.(string); filepath.Clean(s) == dropIn {
			return fmt.Errorf("%s: still imports %s after taking out the line install added", path, dropIn)
		}
	}
	return nil
}

// wrapperUsers lists the containers that run on execguard's shim or
// through the wrapper: bundles whose shim binary is the shim or whose runc
// shim options name a wrapper link (containerd), and conmon processes
// started with one (CRI-O).
func wrapperUsers(opts Options, host fsplan.Host, j fsplan.Journal) ([]string, error) {
	var wrappers, shims []string
	for _, e := range j.Entries {
		switch e.Group {
		case groupWrapper:
			wrappers = append(wrappers, e.Path)
		case groupShim:
			shims = append(shims, e.Path)
		}
	}
	if len(wrappers) == 0 && len(shims) == 0 {
		return nil, nil
	}
	var users []string
	if _, ok := j.Entry(opts.ContainerdDropIn); ok {
		c, err := containerd.Load(containerd.Source{Host: host, Path: opts.ContainerdConfig, DropIn: opts.ContainerdDropIn, Major: opts.ContainerdMajor})
		if err != nil {
			return nil, err
		}
		tasks, err := containerd.Users(host, c.StateDir(), shims, wrappers)
		if err != nil {
			return nil, err
		}
		users = append(users, tasks...)
	}
	users = append(users, conmonUsers(host, wrappers)...)
	return users, nil
}

// conmonUsers finds conmon processes whose runtime (-r/--runtime) is one
// of the wrappers; /proc is the host's when Root is "/".
func conmonUsers(host fsplan.Host, wrappers []string) []string {
	procs, err := os.ReadDir(host.Local("/proc"))
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(host.Local("/proc"), p.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
		if !strings.HasPrefix(filepath.Base(args[0]), "conmon") {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if (args[i] == "-r" || args[i] == "--runtime") && slices.Contains(wrappers, args[i+1]) {
				out = append(out, "conmon pid "+p.Name())
				break
			}
		}
	}
	return out
}

func summarize(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}
