// Package shim is execguard's containerd runtime v2 shim: containerd's runc
// shim (its manager and task service, linked as a library) with execguard
// deciding every container start and exec before runc runs it, and
// recording every process's end.
package shim

import (
	"context"
	"fmt"
	"os"

	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/manager"
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/task"
	"github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/containerd/v2/pkg/shutdown"
	"github.com/containerd/containerd/v2/plugins"
	"github.com/containerd/log"
	"github.com/containerd/plugin"
	"github.com/containerd/plugin/registry"

	"github.com/execguard/execguard/config"
)

// RuntimeType is the shim's containerd runtime type; containerd runs it as
// containerd-shim-execguard-v2.
const RuntimeType = "io.containerd.execguard.v2"

// Run runs the shim for the command line containerd gave it.
func Run(ctx context.Context) {
	registry.Register(&plugin.Registration{
		Type: plugins.TTRPCPlugin,
		ID:   "task",
		Requires: []plugin.Type{
			plugins.EventPlugin,
			plugins.InternalPlugin,
		},
		InitFn: initTask,
	})
	shim.Run(ctx, newShimManager(manager.NewShimManager(RuntimeType)))
}

// initTask builds the task service: the runc one, publishing through the
// guard, behind the guard.
func initTask(ic *plugin.InitContext) (interface{}, error) {
	pp, err := ic.GetByID(plugins.EventPlugin, "publisher")
	if err != nil {
		return nil, err
	}
	ss, err := ic.GetByID(plugins.InternalPlugin, "shutdown")
	if err != nil {
		return nil, err
	}
	pub, ok := pp.(shim.Publisher)
	if !ok {
		return nil, fmt.Errorf("event publisher is a %T, not a shim publisher", pp)
	}
	sd, ok := ss.(shutdown.Service)
	if !ok {
		return nil, fmt.Errorf("shutdown service is a %T", ss)
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("working directory: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	g := newGuard(config.PathFor(exe), wd, log.G(ic.Context))
	inner, err := task.NewTaskService(ic.Context, &publisher{Publisher: pub, g: g}, sd)
	if err != nil {
		return nil, err
	}
	return &service{TTRPCTaskService: inner, g: g}, nil
}
