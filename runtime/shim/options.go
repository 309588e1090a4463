package shim

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/containerd/containerd/api/types"
	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	runtimeoptions "github.com/containerd/containerd/api/types/runtimeoptions/v1"
	"github.com/containerd/typeurl/v2"
	"github.com/pelletier/go-toml/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/execguard/execguard/runtime/core"
)

// runcOptions turns a create request's options into the runc shim's. CRI
// hands a runtime type it does not know its handler's options table as
// TOML (runtimeoptions.Options), where containerd's runc shim expects
// runc's options (BinaryName, Root, SystemdCgroup...): the table is decoded
// into those. Options already runc's pass unchanged. binary is the runc
// binary the options name ("" for the default).
func runcOptions(opts *anypb.Any) (out *anypb.Any, binary string, err error) {
	if opts.GetValue() == nil {
		return opts, "", nil
	}
	v, err := typeurl.UnmarshalAny(opts)
	if err != nil {
		return nil, "", fmt.Errorf("runtime options (%s): %w", opts.GetTypeUrl(), err)
	}
	switch o := v.(type) {
	case *runcoptions.Options:
		return opts, o.BinaryName, nil
	case *runtimeoptions.Options:
		body := o.ConfigBody
		if o.ConfigPath != "" {
			if body, err = readBounded(o.ConfigPath); err != nil {
				return nil, "", fmt.Errorf("runtime options: %w", err)
			}
			if len(body) > core.MaxSpecBytes {
				return nil, "", fmt.Errorf("runtime options %s: larger than %d bytes", o.ConfigPath, core.MaxSpecBytes)
			}
		}
		var ro runcoptions.Options
		if err := toml.Unmarshal(body, &ro); err != nil {
			return nil, "", fmt.Errorf("runtime options: runc options from TOML: %w", err)
		}
		out, err := typeurl.MarshalAnyToProto(&ro)
		if err != nil {
			return nil, "", fmt.Errorf("runtime options: %w", err)
		}
		return out, ro.BinaryName, nil
	default:
		return nil, "", fmt.Errorf("runtime options: %T is neither runc's options nor a runtime's TOML table", v)
	}
}

// Info answers containerd's runtime info requests (shim -info, options on
// stdin) with the options translated as for Create.
func (m shimManager) Info(ctx context.Context, optionsR io.Reader) (*types.RuntimeInfo, error) {
	data, err := io.ReadAll(io.LimitReader(optionsR, core.MaxSpecBytes+1))
	if err != nil {
		return nil, fmt.Errorf("runtime options: %w", err)
	}
	if len(data) > core.MaxSpecBytes {
		return nil, fmt.Errorf("runtime options: larger than %d bytes", core.MaxSpecBytes)
	}
	if len(data) > 0 {
		var in anypb.Any
		if err := proto.Unmarshal(data, &in); err != nil {
			return nil, fmt.Errorf("runtime options: %w", err)
		}
		out, _, err := runcOptions(&in)
		if err != nil {
			return nil, err
		}
		if data, err = proto.Marshal(out); err != nil {
			return nil, fmt.Errorf("runtime options: %w", err)
		}
	}
	return m.Manager.Info(ctx, bytes.NewReader(data))
}
