package ttyrec

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/execguard/execguard/detect"
)

// CastDirName is the directory beside the event log that holds the
// sessions' asciicast files.
const CastDirName = "tty"

// CastDir is the directory of the casts of the event log at eventLog.
func CastDir(eventLog string) string { return filepath.Join(filepath.Dir(eventLog), CastDirName) }

// CastName names a session's cast: the exec id first, for replay to find,
// then the container and the start. containerd's ids cannot hold '+'.
func CastName(execID, containerID string, start time.Time) string {
	return execID + "+" + containerID + "+" + strconv.FormatInt(start.UnixNano(), 10) + ".cast"
}

// ParseCastName splits a cast's file name; ok is false for other files.
func ParseCastName(name string) (execID, containerID string, start time.Time, ok bool) {
	base, found := strings.CutSuffix(name, ".cast")
	if !found {
		return "", "", time.Time{}, false
	}
	parts := strings.Split(base, "+")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return "", "", time.Time{}, false
	}
	ns, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", "", time.Time{}, false
	}
	return parts[0], parts[1], time.Unix(0, ns), true
}

// castFile is a cast being written: buffered, flushed per batch of output.
type castFile struct {
	*bufio.Writer
	f *os.File
}

func (c castFile) Close() error {
	err := c.Writer.Flush()
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// CreateCast creates a new cast file in dir (made root's alone, 0700, when
// missing), readable and writable by its owner only. The returned writer
// is for Options.Cast.
func CreateCast(dir, name string) (io.WriteCloser, string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("cast directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("cast %s: %w", path, err)
	}
	return castFile{Writer: bufio.NewWriterSize(f, 64<<10), f: f}, path, nil
}

// Header is an asciicast v2 header line.
type Header struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp,omitempty"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
}

// Terminal size a cast's header gives when the session's is unknown.
const (
	defaultWidth  = 80
	defaultHeight = 24
)

func (h Header) line() ([]byte, error) {
	if h.Width <= 0 {
		h.Width = defaultWidth
	}
	if h.Height <= 0 {
		h.Height = defaultHeight
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func castEventLine(d time.Duration, text string) ([]byte, error) {
	if d < 0 {
		d = 0
	}
	b, err := json.Marshal([]any{json.Number(strconv.FormatFloat(d.Seconds(), 'f', 6, 64)), "o", text})
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func castTitle(c detect.Container, s detect.Session) string {
	where := c.Name
	if where == "" {
		where = c.ID
	}
	if c.PodName != "" {
		where = c.PodNamespace + "/" + c.PodName + " " + where
	}
	return "exec " + s.ExecID + " in " + where
}

// Event is one output event of a cast.
type Event struct {
	At   time.Duration
	Text string
}

// MaxCastLine bounds one line of a cast read back.
const MaxCastLine = 1 << 20

// ReadCast reads an asciicast v2 recording: its header and output events,
// in order. Events of other types are skipped; times going backwards, a
// header of another version or a malformed line are errors.
func ReadCast(r io.Reader) (Header, []Event, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxCastLine)
	var h Header
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return h, nil, fmt.Errorf("cast header: %w", err)
		}
		return h, nil, errors.New("cast header: empty file")
	}
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
		return h, nil, fmt.Errorf("cast header: %w", err)
	}
	if h.Version != 2 {
		return h, nil, fmt.Errorf("cast header: version %d, want 2", h.Version)
	}
	var events []Event
	var last time.Duration
	for n := 2; sc.Scan(); n++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var raw []json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil || len(raw) != 3 {
			return h, nil, fmt.Errorf("cast line %d: want [time, type, data]", n)
		}
		var secs float64
		var typ, data string
		if json.Unmarshal(raw[0], &secs) != nil || json.Unmarshal(raw[1], &typ) != nil || json.Unmarshal(raw[2], &data) != nil || secs < 0 {
			return h, nil, fmt.Errorf("cast line %d: want [time, type, data]", n)
		}
		at := time.Duration(secs * float64(time.Second))
		if at < last {
			return h, nil, fmt.Errorf("cast line %d: time %.6f goes backwards", n, secs)
		}
		last = at
		if typ == "o" {
			events = append(events, Event{At: at, Text: data})
		}
	}
	if err := sc.Err(); err != nil {
		return h, nil, fmt.Errorf("cast: %w", err)
	}
	return h, events, nil
}
