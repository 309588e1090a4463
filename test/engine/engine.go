// Package engine runs a private containerd (test/node) or CRI-O
// (test/crionode) node behind one API, so that an end-to-end test can run
// the same steps on either engine: the runc handler runs a given runtime
// binary (the wrapper) with a given execguard configuration, and pods,
// containers and execs go through the engine's CRI with crictl.
package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/test/crionode"
	"github.com/execguard/execguard/test/node"
)

// Kind names an engine.
type Kind string

const (
	Containerd Kind = "containerd"
	CRIO       Kind = "crio"
)

// Options configure a node of either engine. Zero values pick the
// engine's defaults.
type Options struct {
	// Kind is the engine (default Containerd).
	Kind Kind
	// Runtime is the binary the runc handler runs for every runtime call:
	// containerd's options.BinaryName, CRI-O's runtime_path (default the
	// real runc).
	Runtime string
	// Config is the execguard configuration Runtime reads. Containerd
	// passes it on as EXECGUARD_CONFIG; CRI-O passes the runtime no
	// environment of its own, so the wrapper must find it beside itself:
	// a Config named execguard.toml gets a link to Runtime named runc
	// beside it, and CRI-O runs the link; otherwise the node links both
	// into a directory of its own.
	Config string
	// Shim runs containerd's runc handler with execguard's shim (Containerd
	// only; see node.Options.ShimPath).
	Shim string
	// CommandTimeout bounds each crictl/script call (default 2m).
	CommandTimeout time.Duration
}

// Node is a running node of either engine.
type Node interface {
	Kind() Kind
	// Dir is the node's directory; NRISocket where NRI plugins connect.
	Dir() string
	NRISocket() string
	// RuntimeLog is the --log file the engine hands the runtime for a
	// container's calls; "" when it hands none (CRI-O's streaming exec:
	// the wrapper's diagnostics then go to its diagnostics file).
	RuntimeLog(ctrID string) string

	node.Execer
	RunPod(name, namespace string) (string, error)
	CreateContainer(podID, name string, tty bool, cmd ...string) (string, error)
	RemovePod(podID string) error
	CrictlArgv(args ...string) []string
	Crictl(args ...string) (string, error)
	ExecStreams(ctrID string, cmd ...string) (stdout, stderr string, err error)
	RunExecs(execs []node.Exec, concurrency int, done func(node.ExecResult)) []node.ExecResult
	Script(argv ...string) (string, error)
	Restart(ctx context.Context) error
	LogTail(lines int) string
	LogFile() string
	Close() error
}

// Start starts a node of opts.Kind. On error nothing is left running.
func Start(ctx context.Context, opts Options) (Node, error) {
	switch opts.Kind {
	case "", Containerd:
		n, err := node.Start(ctx, node.Options{WrapperPath: opts.Runtime, WrapperConfig: opts.Config,
			ShimPath: opts.Shim, CommandTimeout: opts.CommandTimeout})
		if err != nil {
			return nil, err
		}
		return containerdNode{n}, nil
	case CRIO:
		if opts.Shim != "" {
			return nil, errors.New("start CRI-O: execguard's shim is a containerd shim")
		}
		return startCRIO(ctx, opts)
	}
	return nil, fmt.Errorf("start node: unknown engine %q", opts.Kind)
}

type containerdNode struct{ *node.Node }

func (n containerdNode) Kind() Kind        { return Containerd }
func (n containerdNode) Dir() string       { return n.Node.Dir }
func (n containerdNode) NRISocket() string { return n.Node.NRISocket }

type crioNode struct {
	*crionode.Node
	links []string // the runtime's (and its configuration's) links
}

func startCRIO(ctx context.Context, opts Options) (Node, error) {
	cn := crioNode{}
	nopts := crionode.Options{CommandTimeout: opts.CommandTimeout}
	var links []string // removed at Close
	if opts.Runtime != "" {
		var runc string
		if opts.Config != "" && filepath.Base(opts.Config) == config.BesideWrapper {
			// The configuration's own path is then the one the wrapper
			// reads and names in its messages.
			runc = filepath.Join(filepath.Dir(opts.Config), "runc")
			if err := os.Symlink(opts.Runtime, runc); err != nil {
				return nil, fmt.Errorf("start CRI-O: %w", err)
			}
			links = append(links, runc)
		} else {
			dir, err := os.MkdirTemp("", "egengine-")
			if err != nil {
				return nil, fmt.Errorf("start CRI-O: %w", err)
			}
			links = append(links, dir)
			runc = filepath.Join(dir, "runc")
			err = os.Symlink(opts.Runtime, runc)
			if err == nil && opts.Config != "" {
				err = os.Symlink(opts.Config, filepath.Join(dir, config.BesideWrapper))
			}
			if err != nil {
				os.RemoveAll(dir)
				return nil, fmt.Errorf("start CRI-O: %w", err)
			}
		}
		nopts.RuntimePaths = map[string]string{"runc": runc}
	}
	cn.links = links
	n, err := crionode.Start(ctx, nopts)
	if err != nil {
		for _, l := range links {
			os.RemoveAll(l)
		}
		return nil, err
	}
	cn.Node = n
	return cn, nil
}

func (n crioNode) Kind() Kind               { return CRIO }
func (n crioNode) Dir() string              { return n.Node.Dir }
func (n crioNode) NRISocket() string        { return n.Node.NRISocket }
func (n crioNode) RuntimeLog(string) string { return "" }

// Close closes the node and removes the runtime's links.
func (n crioNode) Close() error {
	err := n.Node.Close()
	for _, l := range n.links {
		err = errors.Join(err, os.RemoveAll(l))
	}
	return err
}
