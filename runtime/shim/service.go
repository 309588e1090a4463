package shim

import (
	"context"
	"fmt"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/containerd/v2/core/events"
	ptypes "github.com/containerd/containerd/v2/pkg/protobuf/types"
	"github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/ttrpc"
)

// service is containerd's runc task service with execguard in front of the
// requests that start processes: Create and Exec are decided before the
// runc service sees them, and refused ones never reach it.
type service struct {
	taskAPI.TTRPCTaskService
	g *guard
}

var _ shim.TTRPCService = (*service)(nil)

// RegisterTTRPC serves the task API from the service, not from the runc
// service it wraps: v3 for containerd 2, v2 for containerd 1.7 (and for a
// containerd 2 that was given version 2 at the shim's start).
func (s *service) RegisterTTRPC(server *ttrpc.Server) error {
	taskAPI.RegisterTTRPCTaskService(server, s)
	registerTaskV2(server, s)
	return nil
}

// Create decides the container's start, then creates it with runc.
func (s *service) Create(ctx context.Context, r *taskAPI.CreateTaskRequest) (*taskAPI.CreateTaskResponse, error) {
	opts, binary, err := runcOptions(r.Options)
	if err != nil {
		return nil, errgrpc.ToGRPC(fmt.Errorf("container %s: %w: %w", r.ID, err, errdefs.ErrInvalidArgument))
	}
	r.Options = opts
	v, st := s.g.create(r, runtimeName(binary))
	if v.block {
		return nil, refusal(v.reason)
	}
	resp, err := s.TTRPCTaskService.Create(ctx, r)
	// The start is written once runc has created the init, with its pid,
	// or without when it failed.
	s.g.write(s.g.take(st), resp.GetPid())
	if err == nil && st != nil {
		st.pid = resp.GetPid()
		s.g.track(procKey{container: r.ID}, st)
	}
	return resp, err
}

// Exec decides the exec; a refused one returns the reason and nothing of it
// runs.
func (s *service) Exec(ctx context.Context, r *taskAPI.ExecProcessRequest) (*ptypes.Empty, error) {
	v, st := s.g.exec(r)
	if v.block {
		return nil, refusal(v.reason)
	}
	resp, err := s.TTRPCTaskService.Exec(ctx, r)
	if err != nil {
		s.g.write(s.g.take(st), 0)
		if st != nil && st.capture != nil {
			st.capture.abort()
		}
	} else {
		// Its start is written when Start gives the pid (or fails), on
		// its exit, its Delete or the shim's shutdown, whichever is first.
		s.g.track(procKey{container: r.ID, exec: r.ExecID}, st)
		if st != nil && st.capture != nil {
			st.capture.start()
		}
	}
	return resp, err
}

// ResizePty resizes the terminal, and tells a recording its size.
func (s *service) ResizePty(ctx context.Context, r *taskAPI.ResizePtyRequest) (*ptypes.Empty, error) {
	resp, err := s.TTRPCTaskService.ResizePty(ctx, r)
	if err == nil && r.ExecID != "" {
		if c := s.g.captureOf(procKey{container: r.ID, exec: r.ExecID}); c != nil {
			c.resize(r.Height, r.Width)
		}
	}
	return resp, err
}

// Start starts a created process and notes its pid for its end event.
func (s *service) Start(ctx context.Context, r *taskAPI.StartRequest) (*taskAPI.StartResponse, error) {
	resp, err := s.TTRPCTaskService.Start(ctx, r)
	k := procKey{container: r.ID, exec: r.ExecID}
	switch {
	case err != nil && r.ExecID != "":
		s.g.writeHeld(k, 0)
		s.g.forget(k) // a process that never started never exits
	case err == nil:
		s.g.setPID(k, resp.GetPid())
	}
	return resp, err
}

// Delete drops what the guard keeps of a deleted process or container.
func (s *service) Delete(ctx context.Context, r *taskAPI.DeleteRequest) (*taskAPI.DeleteResponse, error) {
	k := procKey{container: r.ID, exec: r.ExecID}
	s.g.writeHeld(k, 0) // deleted before it started
	resp, err := s.TTRPCTaskService.Delete(ctx, r)
	if err == nil {
		s.g.forget(k)
	}
	return resp, err
}

// Shutdown writes the starts still held before the shim may exit.
func (s *service) Shutdown(ctx context.Context, r *taskAPI.ShutdownRequest) (*ptypes.Empty, error) {
	s.g.writeAllHeld()
	return s.TTRPCTaskService.Shutdown(ctx, r)
}

// refusal is the error a refused request returns: its message is the
// reason, which containerd hands on to crictl, kubectl and ctr.
func refusal(reason string) error {
	return errgrpc.ToGRPC(fmt.Errorf("%s: %w", reason, errdefs.ErrPermissionDenied))
}

// publisher hands the task service's events on to containerd, writing the
// end event of each process the guard saw start before its exit is
// published: the shim may be shut down once containerd has the last exit.
type publisher struct {
	shim.Publisher
	g *guard
}

func (p *publisher) Publish(ctx context.Context, topic string, event events.Event) error {
	if e, ok := event.(*eventstypes.TaskExit); ok {
		p.g.exited(e)
	}
	return p.Publisher.Publish(ctx, topic, event)
}
