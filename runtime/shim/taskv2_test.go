package shim

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskv2 "github.com/containerd/containerd/api/runtime/task/v2"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v3"
	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/ttrpc"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// taskRecorder is the task service behind the guard: it keeps each request
// it gets and answers with the response set for its method.
type taskRecorder struct {
	mu   sync.Mutex
	got  map[string]proto.Message
	resp map[string]proto.Message
}

func answer[R proto.Message](r *taskRecorder, method string, req proto.Message) (R, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[method] = req
	resp, ok := r.resp[method].(R)
	if !ok {
		var zero R
		return zero, errgrpc.ToGRPC(errdefs.ErrNotImplemented)
	}
	return resp, nil
}

func (r *taskRecorder) State(_ context.Context, q *taskAPI.StateRequest) (*taskAPI.StateResponse, error) {
	return answer[*taskAPI.StateResponse](r, "State", q)
}
func (r *taskRecorder) Create(_ context.Context, q *taskAPI.CreateTaskRequest) (*taskAPI.CreateTaskResponse, error) {
	return answer[*taskAPI.CreateTaskResponse](r, "Create", q)
}
func (r *taskRecorder) Start(_ context.Context, q *taskAPI.StartRequest) (*taskAPI.StartResponse, error) {
	return answer[*taskAPI.StartResponse](r, "Start", q)
}
func (r *taskRecorder) Delete(_ context.Context, q *taskAPI.DeleteRequest) (*taskAPI.DeleteResponse, error) {
	return answer[*taskAPI.DeleteResponse](r, "Delete", q)
}
func (r *taskRecorder) Pids(_ context.Context, q *taskAPI.PidsRequest) (*taskAPI.PidsResponse, error) {
	return answer[*taskAPI.PidsResponse](r, "Pids", q)
}
func (r *taskRecorder) Pause(_ context.Context, q *taskAPI.PauseRequest) (*emptypb.Empty, error) {
	return answer[*emptypb.Empty](r, "Pause", q)
}
func (r *taskRecorder) Resume(_ context.Context, q *taskAPI.ResumeRequest) (*emptypb.Empty, error) {
	return answer[*emptypb.Empty](r, "Resume", q)
}
func (r *taskRecorder) Checkpoint(_ context.Context, q *taskAPI.CheckpointTaskRequest) (*emptypb.Empty, error) {
	return answer[*emptypb.Empty](r, "Checkpoint", q)
}
func (r *taskRecorder) Kill(_ context.Context, q *taskAPI.KillRequest) (*emptypb.Empty, error) {
	return answer[*emptypb.Empty](r, "Kill", q)
}
func (r *taskRecorder) Exec(_ context.Context, q *taskAPI.ExecProcessRequest) (*emptypb.Empty, error) {
	return answer[*emptypb.Empty](r, "Exec", q)
}
func (r *taskRecorder) ResizePty(_ context.Context, q *taskAPI.ResizePtyRequest) (*emptypb.Empty, error) {
	return answer[*emptypb.Empty](r, "ResizePty", q)
}
func (r *taskRecorder) CloseIO(_ context.Context, q *taskAPI.CloseIORequest) (*emptypb.Empty, error) {
	return answer[*emptypb.Empty](r, "CloseIO", q)
}
func (r *taskRecorder) Update(_ context.Context, q *taskAPI.UpdateTaskRequest) (*emptypb.Empty, error) {
	return answer[*emptypb.Empty](r, "Update", q)
}
func (r *taskRecorder) Wait(_ context.Context, q *taskAPI.WaitRequest) (*taskAPI.WaitResponse, error) {
	return answer[*taskAPI.WaitResponse](r, "Wait", q)
}
func (r *taskRecorder) Stats(_ context.Context, q *taskAPI.StatsRequest) (*taskAPI.StatsResponse, error) {
	return answer[*taskAPI.StatsResponse](r, "Stats", q)
}
func (r *taskRecorder) Connect(_ context.Context, q *taskAPI.ConnectRequest) (*taskAPI.ConnectResponse, error) {
	return answer[*taskAPI.ConnectResponse](r, "Connect", q)
}
func (r *taskRecorder) Shutdown(_ context.Context, q *taskAPI.ShutdownRequest) (*emptypb.Empty, error) {
	return answer[*emptypb.Empty](r, "Shutdown", q)
}

// v2Env is the guarded service served over ttrpc as the shim serves it,
// and a task API v2 client of it, as containerd 1.7 has.
type v2Env struct {
	*guardEnv
	inner  *taskRecorder
	svc    *service
	client taskv2.TaskService
	v3     taskAPI.TTRPCTaskService
}

func newV2Env(t testing.TB, action string) *v2Env {
	t.Helper()
	ge := newGuardEnv(t, action, "open")
	e := &v2Env{guardEnv: ge, inner: &taskRecorder{got: map[string]proto.Message{}, resp: map[string]proto.Message{}}}
	e.svc = &service{TTRPCTaskService: e.inner, g: ge.g}
	server, err := ttrpc.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RegisterTTRPC(server); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "shim.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go server.Serve(context.Background(), l)
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	c := ttrpc.NewClient(conn)
	t.Cleanup(func() {
		c.Close()
		server.Close()
	})
	e.client = taskv2.NewTaskClient(c)
	e.v3 = taskAPI.NewTTRPCTaskClient(c)
	return e
}

// fill sets every field of m, recursively, to a value that is not the
// zero value, so that a field lost on the way shows.
func fill(m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		switch {
		case fd.IsMap():
			mv := m.Mutable(fd).Map()
			mv.Set(protoreflect.ValueOfString("k").MapKey(), scalar(fd.MapValue(), m, depth))
		case fd.IsList():
			lv := m.Mutable(fd).List()
			if fd.Kind() == protoreflect.MessageKind {
				if depth > 0 {
					e := lv.NewElement()
					fill(e.Message(), depth-1)
					lv.Append(e)
				}
			} else {
				lv.Append(scalar(fd, m, depth))
			}
		case fd.Kind() == protoreflect.MessageKind:
			if depth > 0 {
				fill(m.Mutable(fd).Message(), depth-1)
			}
		default:
			m.Set(fd, scalar(fd, m, depth))
		}
	}
}

func scalar(fd protoreflect.FieldDescriptor, m protoreflect.Message, depth int) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString("v-" + string(fd.Name()))
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte("b-" + string(fd.Name())))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(7 + fd.Number()))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(70 + fd.Number()))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(7 + fd.Number()))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(70 + fd.Number()))
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		return protoreflect.ValueOfEnum(vals.Get(vals.Len() - 1).Number())
	case protoreflect.MessageKind:
		v := m.NewField(fd)
		if fd.IsMap() {
			v = protoreflect.ValueOfMessage(m.Mutable(fd).Map().NewValue().Message())
		}
		if depth > 0 {
			fill(v.Message(), depth-1)
		}
		return v
	default:
		return protoreflect.ValueOfFloat64(1.5)
	}
}

func wire(t *testing.T, m proto.Message) string {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every method of the task API v2 reaches the guarded service with every
// field of its request, and its v2 caller gets every field of the response.
func TestTaskV2PassesEveryField(t *testing.T) {
	e := newV2Env(t, "alert")
	runcOpts, err := typeurl.MarshalAnyToProto(&runcoptions.Options{BinaryName: "/usr/sbin/runc"})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client
	for _, tc := range []struct {
		method string
		req    proto.Message // a v2 request
		resp   proto.Message // the v3 response the service gives
		call   func(context.Context, proto.Message) (proto.Message, error)
		// fix makes the filled request one the guard lets through.
		fix func(proto.Message)
	}{
		{"State", &taskv2.StateRequest{}, &taskAPI.StateResponse{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.State(ctx, q.(*taskv2.StateRequest))
		}, nil},
		{"Create", &taskv2.CreateTaskRequest{}, &taskAPI.CreateTaskResponse{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.Create(ctx, q.(*taskv2.CreateTaskRequest))
		}, func(q proto.Message) {
			r := q.(*taskv2.CreateTaskRequest)
			r.ID, r.Bundle, r.Options = "c1", e.bundle, runcOpts
		}},
		{"Start", &taskv2.StartRequest{}, &taskAPI.StartResponse{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.Start(ctx, q.(*taskv2.StartRequest))
		}, nil},
		{"Delete", &taskv2.DeleteRequest{}, &taskAPI.DeleteResponse{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.Delete(ctx, q.(*taskv2.DeleteRequest))
		}, nil},
		{"Pids", &taskv2.PidsRequest{}, &taskAPI.PidsResponse{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.Pids(ctx, q.(*taskv2.PidsRequest))
		}, nil},
		{"Pause", &taskv2.PauseRequest{}, &emptypb.Empty{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.Pause(ctx, q.(*taskv2.PauseRequest))
		}, nil},
		{"Resume", &taskv2.ResumeRequest{}, &emptypb.Empty{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.Resume(ctx, q.(*taskv2.ResumeRequest))
		}, nil},
		{"Checkpoint", &taskv2.CheckpointTaskRequest{}, &emptypb.Empty{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.Checkpoint(ctx, q.(*taskv2.CheckpointTaskRequest))
		}, nil},
		{"Kill", &taskv2.KillRequest{}, &emptypb.Empty{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.Kill(ctx, q.(*taskv2.KillRequest))
		}, nil},
		{"Exec", &taskv2.ExecProcessRequest{}, &emptypb.Empty{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.Exec(ctx, q.(*taskv2.ExecProcessRequest))
		}, func(q proto.Message) { q.(*taskv2.ExecProcessRequest).ID = "c1" }},
		{"ResizePty", &taskv2.ResizePtyRequest{}, &emptypb.Empty{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.ResizePty(ctx, q.(*taskv2.ResizePtyRequest))
		}, nil},
		{"CloseIO", &taskv2.CloseIORequest{}, &emptypb.Empty{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.CloseIO(ctx, q.(*taskv2.CloseIORequest))
		}, nil},
		{"Update", &taskv2.UpdateTaskRequest{}, &emptypb.Empty{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.Update(ctx, q.(*taskv2.UpdateTaskRequest))
		}, nil},
		{"Wait", &taskv2.WaitRequest{}, &taskAPI.WaitResponse{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.Wait(ctx, q.(*taskv2.WaitRequest))
		}, nil},
		{"Stats", &taskv2.StatsRequest{}, &taskAPI.StatsResponse{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.Stats(ctx, q.(*taskv2.StatsRequest))
		}, nil},
		{"Connect", &taskv2.ConnectRequest{}, &taskAPI.ConnectResponse{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.Connect(ctx, q.(*taskv2.ConnectRequest))
		}, nil},
		{"Shutdown", &taskv2.ShutdownRequest{}, &emptypb.Empty{}, func(ctx context.Context, q proto.Message) (proto.Message, error) {
			return c.Shutdown(ctx, q.(*taskv2.ShutdownRequest))
		}, nil},
	} {
		t.Run(tc.method, func(t *testing.T) {
			fill(tc.req.ProtoReflect(), 3)
			if tc.fix != nil {
				tc.fix(tc.req)
			}
			fill(tc.resp.ProtoReflect(), 3)
			e.inner.mu.Lock()
			e.inner.resp[tc.method] = tc.resp
			e.inner.mu.Unlock()

			got, err := tc.call(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("v2 %s: %v", tc.method, err)
			}
			e.inner.mu.Lock()
			seen := e.inner.got[tc.method]
			e.inner.mu.Unlock()
			if seen == nil {
				t.Fatalf("v2 %s never reached the v3 service", tc.method)
			}
			if seen.ProtoReflect().Descriptor().FullName() != "containerd.task.v3."+protoreflect.FullName(tc.req.ProtoReflect().Descriptor().Name()) {
				t.Errorf("v3 service got a %s", seen.ProtoReflect().Descriptor().FullName())
			}
			if wire(t, seen) != wire(t, tc.req) {
				t.Errorf("request changed on the way:\nsent %v\ngot  %v", tc.req, seen)
			}
			if wire(t, got) != wire(t, tc.resp) {
				t.Errorf("response changed on the way:\nsent %v\ngot  %v", tc.resp, got)
			}
		})
	}
}

// pubRecorder is the publisher containerd's side would be: it keeps what
// it is given.
type pubRecorder struct {
	mu     sync.Mutex
	topics []string
}

func (p *pubRecorder) Publish(_ context.Context, topic string, _ events.Event) error {
	p.mu.Lock()
	p.topics = append(p.topics, topic)
	p.mu.Unlock()
	return nil
}

func (p *pubRecorder) Close() error { return nil }

// Through the task API v2, as containerd 1.7 calls it: a container start
// and an exec decided and recorded, the exec's end written with the pid of
// its v2 Start when its exit is published, and a refused exec's reason
// returned to the v2 caller with nothing of it reaching runc's service.
func TestTaskV2GuardedLifecycle(t *testing.T) {
	e := newV2Env(t, "block")
	ctx := context.Background()
	e.inner.resp["Create"] = &taskAPI.CreateTaskResponse{Pid: 100}
	e.inner.resp["Exec"] = &emptypb.Empty{}
	e.inner.resp["Start"] = &taskAPI.StartResponse{Pid: 4242}
	e.inner.resp["Delete"] = &taskAPI.DeleteResponse{Pid: 4242, ExitStatus: 3}

	if r, err := e.client.Create(ctx, &taskv2.CreateTaskRequest{ID: "c1", Bundle: e.bundle}); err != nil || r.Pid != 100 {
		t.Fatalf("v2 Create: %v, %v", r, err)
	}

	proc := execReq(t, "tty", true, "sh")
	_, err := e.client.Exec(ctx, &taskv2.ExecProcessRequest{ID: proc.ID, ExecID: proc.ExecID, Terminal: true, Spec: proc.Spec})
	want := `execguard: interactive exec into container "app" of pod shop/web-1 blocked by policy`
	if err == nil || !errdefs.IsPermissionDenied(errgrpc.ToNative(err)) || !strings.Contains(err.Error(), want) {
		t.Fatalf("v2 Exec of a tty shell in block mode: %v; want permission denied with %q", err, want)
	}
	e.inner.mu.Lock()
	_, ran := e.inner.got["Exec"]
	e.inner.mu.Unlock()
	if ran {
		t.Fatalf("a refused v2 Exec reached runc's service")
	}

	proc = execReq(t, "plain", false, "sh", "-c", "exit 3")
	if _, err := e.client.Exec(ctx, &taskv2.ExecProcessRequest{ID: proc.ID, ExecID: proc.ExecID, Spec: proc.Spec}); err != nil {
		t.Fatalf("v2 Exec of a plain command: %v", err)
	}
	if r, err := e.client.Start(ctx, &taskv2.StartRequest{ID: "c1", ExecID: "plain"}); err != nil || r.Pid != 4242 {
		t.Fatalf("v2 Start: %v, %v", r, err)
	}
	pub := &pubRecorder{}
	p := &publisher{Publisher: pub, g: e.g}
	exit := &eventstypes.TaskExit{ContainerID: "c1", ID: "plain", ExitStatus: 3, ExitedAt: timestamppb.New(time.Now())}
	if err := p.Publish(ctx, "/tasks/exit", exit); err != nil {
		t.Fatal(err)
	}
	if fmtTopics := strings.Join(pub.topics, ","); fmtTopics != "/tasks/exit" {
		t.Errorf("published %q, want the exit handed on", fmtTopics)
	}
	if r, err := e.client.Delete(ctx, &taskv2.DeleteRequest{ID: "c1", ExecID: "plain"}); err != nil || r.ExitStatus != 3 {
		t.Fatalf("v2 Delete: %v, %v", r, err)
	}

	var ends []map[string]any
	for _, d := range e.docs() {
		if get(d, "event.action") == "end" {
			ends = append(ends, d)
		}
	}
	if len(ends) != 1 {
		t.Fatalf("%d end events, want the plain exec's", len(ends))
	}
	for path, want := range map[string]any{"execguard.exec_id": "plain", "process.pid": 4242.0, "process.exit_code": 3.0} {
		if got := get(ends[0], path); got != want {
			t.Errorf("end event %s = %v, want %v", path, got, want)
		}
	}
	e.g.mu.Lock()
	_, kept := e.g.procs[procKey{"c1", "plain"}]
	e.g.mu.Unlock()
	if kept {
		t.Errorf("the deleted exec is still tracked")
	}
}

// BenchmarkTaskAPI is a State round trip over the shim's ttrpc socket
// through each task API version: the v2 one decodes into the v3 messages,
// so it should cost what v3 costs.
func BenchmarkTaskAPI(b *testing.B) {
	for _, version := range []string{"v2", "v3"} {
		b.Run(version, func(b *testing.B) {
			e := newV2Env(b, "alert")
			state := &taskAPI.StateResponse{}
			fill(state.ProtoReflect(), 3)
			e.inner.resp["State"] = state
			ctx := context.Background()
			call := func() error {
				_, err := e.client.State(ctx, &taskv2.StateRequest{ID: "c1", ExecID: "x1"})
				return err
			}
			if version == "v3" {
				call = func() error {
					_, err := e.v3.State(ctx, &taskAPI.StateRequest{ID: "c1", ExecID: "x1"})
					return err
				}
			}
			for b.Loop() {
				if err := call(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
