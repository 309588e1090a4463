package eventview

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Line is one line of the log, without its newline, and where it was.
type Line struct {
	Data []byte
	// Number counts lines from 1 in the file as it was opened; it starts
	// again after a rotation or a truncation.
	Number int
}

// Scan calls fn with each line of r until r ends or fn fails. A last line
// without a newline is a line too.
func Scan(r io.Reader, fn func(Line) error) error {
	br := bufio.NewReader(r)
	n := 0
	for {
		data, err := br.ReadBytes('\n')
		if len(data) > 0 {
			n++
			if ferr := fn(Line{Data: bytes.TrimSuffix(data, []byte("\n")), Number: n}); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Follow calls fn with each line of the file at path, then waits for more,
// looking every poll, until ctx ends (which is not an error). A line is
// handed over once its newline is written. When the file is replaced
// (rotation) Follow reads what is left of the old file, then the new one
// from its start; when it is truncated, it reads again from the start.
func Follow(ctx context.Context, path string, poll time.Duration, fn func(Line) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	var (
		pending []byte // a line still waiting for its newline
		n       int
		offset  int64
		buf     = make([]byte, 64<<10)
	)
	// drain reads to the end of f, handing over whole lines.
	drain := func() error {
		for {
			k, err := f.Read(buf)
			offset += int64(k)
			data := buf[:k]
			for len(data) > 0 {
				i := bytes.IndexByte(data, '\n')
				if i < 0 {
					pending = append(pending, data...)
					break
				}
				line := append(pending, data[:i]...)
				pending = nil
				data = data[i+1:]
				n++
				if err := fn(Line{Data: line, Number: n}); err != nil {
					return err
				}
			}
			if errors.Is(err, io.EOF) || k == 0 {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		if err := drain(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		cur, err := f.Stat()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		now, err := os.Stat(path)
		switch {
		case err == nil && !os.SameFile(cur, now):
			// Rotated: finish the old file, then start on the new one.
			if err := drain(); err != nil {
				return err
			}
			next, err := os.Open(path)
			if err != nil {
				continue // not there yet: look again
			}
			f.Close()
			f, pending, n, offset = next, nil, 0, 0
		case cur.Size() < offset:
			// Truncated in place: read it again from the start.
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			pending, n, offset = nil, 0, 0
		}
	}
}
