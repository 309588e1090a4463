package shim

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	versionapi "github.com/containerd/containerd/api/services/version/v1"
	"github.com/containerd/containerd/v2/pkg/shim"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/grpclog"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Bootstrap versions a shim's start reports: containerd calls the task API
// of the same version.
const (
	bootstrapV2 = 2 // task API v2: containerd 1.x refuses any other
	bootstrapV3 = 3 // task API v3: containerd 2
)

// versionTimeout bounds the question to containerd at a shim's start.
const versionTimeout = 3 * time.Second

// shimManager is containerd's runc shim manager with the runtime options
// translated for runtime info requests, and a start that reports the
// bootstrap version the calling containerd speaks.
type shimManager struct {
	shim.Manager
}

func newShimManager(m shim.Manager) shimManager { return shimManager{m} }

// Start starts (or finds, for a pod's further containers) the shim and
// reports the task API version containerd is to call. The shim serves both
// v2 and v3; containerd 1.x only accepts 2, and containerd 2 treats a
// version 2 shim as one without the sandbox API (a shim start and delete
// per container), so containerd 2 is told 3, like its own runc shim.
func (m shimManager) Start(ctx context.Context, id string, opts shim.StartOpts) (shim.BootstrapParams, error) {
	params, err := m.Manager.Start(ctx, id, opts)
	if err != nil {
		return params, err
	}
	// The start's output is its answer to containerd: gRPC's own logging
	// (GRPC_GO_LOG_SEVERITY_LEVEL in containerd's environment) must not
	// reach it. This process only starts the shim and exits.
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard, io.Discard))
	v, verr := bootstrapVersion(ctx, opts.Address)
	if verr != nil {
		startLog("execguard: %v; reporting bootstrap version %d, which every containerd since 1.7 accepts", verr, v)
	}
	params.Version = v
	return params, nil
}

// bootstrapVersion asks the containerd at address (its gRPC socket) for its
// version: 3 for containerd 2 and later, 2 for containerd 1.x, and 2 with
// the reason when containerd does not tell.
func bootstrapVersion(ctx context.Context, address string) (int, error) {
	v, err := containerdVersion(ctx, address)
	if err != nil {
		return bootstrapV2, err
	}
	return bootstrapFor(v)
}

// bootstrapFor is the bootstrap version for a containerd version string
// ("v2.2.9", "1.7.35+unknown", "v1.7.23-k3s2").
func bootstrapFor(version string) (int, error) {
	s := strings.TrimPrefix(version, "v")
	end := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(s)
	}
	major, err := strconv.Atoi(s[:end])
	if err != nil {
		return bootstrapV2, fmt.Errorf("containerd version %q: no major version", version)
	}
	if major < 2 {
		return bootstrapV2, nil
	}
	return bootstrapV3, nil
}

// containerdVersion is the version containerd's version service reports.
func containerdVersion(ctx context.Context, address string) (string, error) {
	if address == "" {
		return "", fmt.Errorf("containerd version: no containerd address")
	}
	path := strings.TrimPrefix(address, "unix://")
	conn, err := grpc.NewClient("passthrough:///"+path,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", addr)
		}))
	if err != nil {
		return "", fmt.Errorf("containerd version from %s: %w", address, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	resp, err := versionapi.NewVersionClient(conn).Version(ctx, &emptypb.Empty{})
	if err != nil {
		return "", fmt.Errorf("containerd version from %s: %w", address, err)
	}
	return resp.GetVersion(), nil
}

// startLog writes a warning of the shim's start to the shim log pipe
// containerd reads (the "log" FIFO in the bundle, the working directory):
// the start's stdout and stderr are its answer to containerd, so nothing
// else may be written there. Without a reader the warning is dropped.
func startLog(format string, args ...any) {
	fd, err := unix.Open("log", unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "log")
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return
	}
	l := logrus.New()
	l.SetOutput(f)
	l.Warnf(format, args...)
}
