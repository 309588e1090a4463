package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/execguard/execguard/detect"
)

// startInfo is what the end event of a container's init needs from its
// start event: the wrapper's container-start document for that container.
type startInfo struct {
	EntityID    string    `json:"entity_id,omitempty"`
	Time        time.Time `json:"start,omitempty"`
	Interactive bool      `json:"interactive"`
	// Source says where the plugin learnt it: "event-log" (the wrapper's
	// start event) or "env" (TERM=xterm only; no start event to pair with).
	Source string `json:"source"`
}

const (
	firstChunk = 16 << 10
	scanChunk  = 64 << 10
)

var actionNeedle = []byte(`"action":"` + string(detect.OpContainerStart) + `"`)

// startLine is the part of a wrapper document the plugin reads.
type startLine struct {
	Timestamp string `json:"@timestamp"`
	Event     struct {
		Action string `json:"action"`
	} `json:"event"`
	Container struct {
		ID string `json:"id"`
	} `json:"container"`
	Process *struct {
		EntityID    string `json:"entity_id"`
		Interactive *bool  `json:"interactive"`
	} `json:"process"`
}

// findStarts reads the event log backwards from its end, at most window
// bytes, for the wrapper's container-start documents of the wanted
// containers, and returns those it found, the newest for each. The wrapper
// writes a container's start event during the runtime's create, just before
// NRI's StartContainer, so in the usual case it is in the last few lines.
//
// buf, when given, is reused across calls. The first read is small: the
// start event is usually within the last few KiB.
func findStarts(path string, want map[string]bool, window int64, buf *[]byte) (map[string]startInfo, error) {
	found := map[string]startInfo{}
	if len(want) == 0 || window <= 0 || path == "" {
		return found, nil
	}
	// The needle is the one container's id member, or for several the
	// container-start action.
	var single []byte
	needle := actionNeedle
	if len(want) == 1 {
		for id := range want {
			b, _ := json.Marshal(id)
			single = append([]byte(`"container":{"id":`), b...)
		}
		needle = single
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return found, nil
	}
	if err != nil {
		return found, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return found, err
	}
	end := st.Size()
	// One byte more than the window: the newline before its first line
	// tells that the line is whole.
	limit := max(end-window-1, 0)
	if buf == nil {
		buf = new([]byte)
	}
	if cap(*buf) < 2*scanChunk {
		*buf = make([]byte, 0, 2*scanChunk)
	}
	chunk := int64(firstChunk)
	var carry []byte // the start of a line whose end was read before
	for pos := end; pos > limit && len(found) < len(want); chunk = min(2*chunk, scanChunk) {
		n := min(chunk, pos-limit)
		pos -= n
		b := (*buf)[:n]
		if _, err := f.ReadAt(b, pos); err != nil && !errors.Is(err, io.EOF) {
			return found, err
		}
		data := append(b, carry...)
		// Complete lines are those after the first newline, or all of them
		// at the start of the file.
		first := 0
		if pos > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				carry = append(carry[:0:0], data...)
				continue
			}
			first = i + 1
		}
		lines := data[first:]
		for len(lines) > 0 && len(found) < len(want) {
			// Jump from needle to needle: only the lines that hold one are
			// looked at.
			i := bytes.LastIndex(lines, needle)
			if i < 0 {
				break
			}
			start := bytes.LastIndexByte(lines[:i], '\n') + 1
			lineEnd := len(lines)
			if j := bytes.IndexByte(lines[i:], '\n'); j >= 0 {
				lineEnd = i + j
			}
			line := lines[start:lineEnd]
			lines = lines[:start]
			if single != nil && !bytes.Contains(line, actionNeedle) {
				continue
			}
			var l startLine
			if json.Unmarshal(line, &l) != nil || l.Event.Action != string(detect.OpContainerStart) || !want[l.Container.ID] {
				continue
			}
			if _, dup := found[l.Container.ID]; dup || l.Process == nil {
				continue
			}
			si := startInfo{EntityID: l.Process.EntityID, Source: "event-log"}
			if l.Process.Interactive != nil {
				si.Interactive = *l.Process.Interactive
			}
			si.Time, _ = time.Parse(time.RFC3339Nano, l.Timestamp)
			found[l.Container.ID] = si
		}
		carry = append(carry[:0:0], data[:first]...)
		if first > 0 {
			carry = carry[:first-1] // drop the newline that ends it
		}
	}
	return found, nil
}
