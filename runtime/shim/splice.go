package shim

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/runtime/ttyrec"
)

// spliceChunk is the most one splice moves.
const spliceChunk = 1 << 20

// recordPipeBytes is the capacity of the pipe output waits in for the
// recording: what does not fit is dropped and counted.
const recordPipeBytes = 1 << 20

// tee hands the output in the FIFO in on to containerd's FIFO out inside
// the kernel (splice), duplicating it (tee) into a pipe the recording reads
// as long as the session is under its cap and the pipe has room; what is
// not duplicated is counted. Nothing of the output passes through this
// process's memory, and the copy never waits for the recording. in and out
// are blocking; tee returns when in ends (its writers are gone).
func tee(in, out *os.File, rec *ttyrec.Recording) error {
	rp, wp, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("recording pipe: %w", err)
	}
	_, _ = unix.FcntlInt(wp.Fd(), unix.F_SETPIPE_SZ, recordPipeBytes)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := rp.Read(buf)
			if n > 0 {
				rec.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	inFd, outFd := int(in.Fd()), int(out.Fd())
	// The FIFOs were opened without waiting for their other sides; the
	// copy waits for them.
	if err := errors.Join(unix.SetNonblock(inFd, false), unix.SetNonblock(outFd, false)); err != nil {
		wp.Close()
		<-done
		rp.Close()
		return fmt.Errorf("blocking FIFOs: %w", err)
	}
	err = spliceLoop(inFd, outFd, int(wp.Fd()), rec)
	// The loop used the raw descriptors: the files must not be finalized
	// (closed) before it ends.
	runtime.KeepAlive(in)
	runtime.KeepAlive(out)
	wp.Close()
	<-done
	rp.Close()
	return err
}

func spliceLoop(in, out, wp int, rec *ttyrec.Recording) error {
	limit := rec.MaxBytes()
	var offered int64 // bytes teed or dropped under the cap
	pfd := []unix.PollFd{{Fd: int32(in), Events: unix.POLLIN}}
	for offered < limit {
		if _, err := unix.Poll(pfd, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("poll: %w", err)
		}
		n, err := unix.Tee(in, wp, int(min(limit-offered, spliceChunk)), unix.SPLICE_F_NONBLOCK)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			// The recording is behind: hand on what is there unrecorded.
			k, err := spliceAll(in, out, spliceChunk)
			if err != nil {
				return err
			}
			if k == 0 {
				return nil
			}
			under := min(k, limit-offered)
			offered += under
			rec.Skip(under, false)
			rec.Skip(k-under, true)
			continue
		case err != nil:
			return fmt.Errorf("tee: %w", err)
		case n == 0:
			return nil // the writers are gone and the FIFO is empty
		}
		// The n bytes teed are at the FIFO's head: move exactly them.
		if err := spliceN(in, out, n); err != nil {
			return err
		}
		offered += n
	}
	for {
		k, err := spliceAll(in, out, spliceChunk)
		if err != nil {
			return err
		}
		if k == 0 {
			return nil
		}
		rec.Skip(k, true)
	}
}

// spliceAll moves what is in in (at most max bytes, waiting for some) to
// out; 0 at in's end.
func spliceAll(in, out int, max int) (int64, error) {
	for {
		k, err := unix.Splice(in, nil, out, nil, max, unix.SPLICE_F_MOVE)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("splice: %w", err)
		}
		return k, nil
	}
}

// spliceN moves exactly n bytes, which in holds, to out.
func spliceN(in, out int, n int64) error {
	for n > 0 {
		k, err := unix.Splice(in, nil, out, nil, int(n), unix.SPLICE_F_MOVE)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("splice: %w", err)
		}
		if k == 0 {
			return errors.New("splice: the FIFO ended before the bytes it held")
		}
		n -= k
	}
	return nil
}
