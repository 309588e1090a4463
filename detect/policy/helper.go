package policy

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os/exec"
	"strings"
	"time"

	"github.com/execguard/execguard/detect/policy/internal/spec"
)

// The policy compiler helper protocol, between HelperParser (in the runtime
// wrapper) and policyfile.ServeCompile (in the execguard command):
//
//	bin policy compile --name FILE   < the file's content
//
// exit 0: stdout is the spec of the valid policy, in binary form
// (helperMagic, the spec, an FNV-1a 64 checksum); exit 1: stdout is the
// JSON list of every problem (Errors). Anything else is a failure of the
// helper.

// HelperMagic starts a helper's answer.
const HelperMagic = "egspec1\n"

// HelperTimeout bounds one run of the helper: a hung helper must not hang
// the runtime call that waits for it.
const HelperTimeout = 10 * time.Second

// HelperParser is a Parser that has the execguard command at bin parse the
// file, so that the runtime wrapper does not link the YAML parser (about
// 0.15 ms of start-up for every runtime call). It runs only when the policy
// file changed: LoadOrLastGood reads unchanged policies from its cache.
func HelperParser(bin string) Parser {
	return LazyHelperParser(func() string { return bin })
}

// LazyHelperParser is HelperParser with the helper's path found by bin when
// a file is first parsed, not before: most calls never parse one.
func LazyHelperParser(bin func() string) Parser {
	return func(file string, data []byte) (*spec.Spec, error) {
		ctx, cancel := context.WithTimeout(context.Background(), HelperTimeout)
		defer cancel()
		bin := bin()
		cmd := exec.CommandContext(ctx, bin, "policy", "compile", "--name", file)
		cmd.Stdin = bytes.NewReader(data)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			s, derr := DecodeHelperAnswer(stdout.Bytes())
			if derr != nil {
				return nil, fmt.Errorf("policy compiler %s: %v", bin, derr)
			}
			return s, nil
		case errors.As(err, &exit) && exit.ExitCode() == 1:
			var errs Errors
			if json.Unmarshal(stdout.Bytes(), &errs) == nil && len(errs) > 0 {
				return nil, errs
			}
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 512 {
			msg = msg[:512] + "..."
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s", HelperTimeout)
		}
		if msg != "" {
			return nil, fmt.Errorf("policy compiler %s: %v: %s", bin, err, msg)
		}
		return nil, fmt.Errorf("policy compiler %s: %v", bin, err)
	}
}

// EncodeHelperAnswer is the helper's answer for a valid policy's spec.
func EncodeHelperAnswer(s *spec.Spec) []byte {
	e := &spec.Encoder{B: []byte(HelperMagic)}
	e.Spec(s)
	h := fnv.New64a()
	h.Write(e.B)
	return binary.LittleEndian.AppendUint64(e.B, h.Sum64())
}

// DecodeHelperAnswer reads a helper's answer.
func DecodeHelperAnswer(data []byte) (*spec.Spec, error) {
	if len(data) < len(HelperMagic)+8 || string(data[:len(HelperMagic)]) != HelperMagic {
		return nil, errors.New("not a policy compiler answer")
	}
	body := data[:len(data)-8]
	h := fnv.New64a()
	h.Write(body)
	if h.Sum64() != binary.LittleEndian.Uint64(data[len(data)-8:]) {
		return nil, spec.ErrCorrupt
	}
	d := &spec.Decoder{S: string(body), Off: len(HelperMagic)}
	s, err := d.Spec()
	if err != nil || d.Off != len(d.S) {
		return nil, spec.ErrCorrupt
	}
	return s, nil
}
