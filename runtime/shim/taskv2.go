package shim

import (
	"context"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/proto"
)

// taskV2Service is the ttrpc name of the task API v2, the one containerd
// 1.x calls (and 2.x calls on shims that bootstrap with version 2).
const taskV2Service = "containerd.task.v2.Task"

// registerTaskV2 serves the task API v2 from svc, a v3 task service. The
// two APIs have the same methods and the same messages under another
// protobuf package, and a message's package is not on the wire: each v2
// request is decoded straight into its v3 message, and each v3 response is
// what a v2 client decodes. Nothing is converted, so every field (and any a
// later API version adds) passes as it came.
func registerTaskV2(server *ttrpc.Server, svc taskAPI.TTRPCTaskService) {
	server.RegisterService(taskV2Service, &ttrpc.ServiceDesc{Methods: taskV2Methods(svc)})
}

func taskV2Methods(svc taskAPI.TTRPCTaskService) map[string]ttrpc.Method {
	return map[string]ttrpc.Method{
		"State":      unary(svc.State),
		"Create":     unary(svc.Create),
		"Start":      unary(svc.Start),
		"Delete":     unary(svc.Delete),
		"Pids":       unary(svc.Pids),
		"Pause":      unary(svc.Pause),
		"Resume":     unary(svc.Resume),
		"Checkpoint": unary(svc.Checkpoint),
		"Kill":       unary(svc.Kill),
		"Exec":       unary(svc.Exec),
		"ResizePty":  unary(svc.ResizePty),
		"CloseIO":    unary(svc.CloseIO),
		"Update":     unary(svc.Update),
		"Wait":       unary(svc.Wait),
		"Stats":      unary(svc.Stats),
		"Connect":    unary(svc.Connect),
		"Shutdown":   unary(svc.Shutdown),
	}
}

// unary is a ttrpc method decoding its request into a new Req and calling
// call with it.
func unary[Req any, PReq interface {
	*Req
	proto.Message
}, Resp proto.Message](call func(context.Context, PReq) (Resp, error)) ttrpc.Method {
	return func(ctx context.Context, unmarshal func(any) error) (any, error) {
		req := PReq(new(Req))
		if err := unmarshal(req); err != nil {
			return nil, err
		}
		return call(ctx, req)
	}
}
