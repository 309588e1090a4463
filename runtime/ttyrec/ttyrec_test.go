package ttyrec

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/execguard/execguard/detect"
)

// docs collects emitted documents.
type docs struct {
	mu    sync.Mutex
	lines [][]byte
}

func (d *docs) emit(line []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lines = append(d.lines, append([]byte(nil), line...))
	return nil
}

type ioFields struct {
	Text     string `json:"text"`
	Captured int64  `json:"total_bytes_captured"`
	Skipped  int64  `json:"total_bytes_skipped"`
	Exceeded bool   `json:"max_bytes_per_process_exceeded"`
	Type     string `json:"type"`
}

type outputDoc struct {
	Timestamp string `json:"@timestamp"`
	Event     struct {
		Action string `json:"action"`
	} `json:"event"`
	Process struct {
		EntityID string   `json:"entity_id"`
		IO       ioFields `json:"io"`
	} `json:"process"`
}

func (d *docs) decode(t *testing.T) (all []outputDoc, text string, captured, skipped int64, exceeded bool) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	last := ""
	for _, l := range d.lines {
		var o outputDoc
		if err := json.Unmarshal(l, &o); err != nil {
			t.Fatalf("document %s: %v", l, err)
		}
		if o.Event.Action != "text_output" || o.Process.IO.Type != "tty" || o.Process.EntityID != "E1" {
			t.Errorf("document %s: want a tty text_output of E1", l)
		}
		if o.Timestamp <= last {
			t.Errorf("document @timestamp %s not after %s", o.Timestamp, last)
		}
		last = o.Timestamp
		all = append(all, o)
		text += o.Process.IO.Text
		captured += o.Process.IO.Captured
		skipped += o.Process.IO.Skipped
		exceeded = exceeded || o.Process.IO.Exceeded
	}
	return all, text, captured, skipped, exceeded
}

func newRedactor(t *testing.T) *detect.Redactor {
	r, err := detect.NewRedactor(detect.DefaultRedactPatterns, detect.DefaultRedactFlags, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecording(t *testing.T) {
	tests := []struct {
		name         string
		writes       []string
		maxBytes     int64
		wantText     string
		wantCaptured int64
		wantSkipped  int64
		wantExceeded bool
	}{
		{
			name:         "lines",
			writes:       []string{"/ # ls\r\n", "bin  etc\r\n", "/ # "},
			wantText:     "/ # ls\r\nbin  etc\r\n/ # ",
			wantCaptured: 22,
		},
		{
			name:         "a secret split across writes is redacted",
			writes:       []string{"/ # echo tok", "en=hun", "ter2\r\ntoken=hunter2\r\n"},
			wantText:     "/ # echo token=[REDACTED]\r\ntoken=[REDACTED]\r\n",
			wantCaptured: 39,
		},
		{
			name:         "cap",
			writes:       []string{"0123456789\n", "abcdefghij\n", "more\n"},
			maxBytes:     15,
			wantText:     "0123456789\nabcd",
			wantCaptured: 15,
			wantSkipped:  12,
			wantExceeded: true,
		},
		{
			name:         "cap reached exactly",
			writes:       []string{"0123\n", "x"},
			maxBytes:     5,
			wantText:     "0123\n",
			wantCaptured: 5,
			wantSkipped:  1,
			wantExceeded: true,
		},
		{
			name:         "long line redacted in pieces, UTF-8 kept whole",
			writes:       []string{strings.Repeat("é", 3000) + "\n"},
			wantText:     strings.Repeat("é", 3000) + "\n",
			wantCaptured: 6001,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d docs
			var cast bytes.Buffer
			rec, err := New(Options{
				Session: detect.Session{EntityID: "E1", ExecID: "x1"}, Redactor: newRedactor(t),
				Emit: d.emit, Cast: &cast, MaxBytes: tt.maxBytes, DocumentBytes: 8,
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.writes {
				if n, err := rec.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			st := rec.Close()
			_, text, captured, skipped, exceeded := d.decode(t)
			if text != tt.wantText || captured != tt.wantCaptured || skipped != tt.wantSkipped || exceeded != tt.wantExceeded {
				t.Errorf("documents: text %q captured %d skipped %d exceeded %v\nwant %q %d %d %v", text, captured, skipped, exceeded, tt.wantText, tt.wantCaptured, tt.wantSkipped, tt.wantExceeded)
			}
			if st.Captured != tt.wantCaptured || st.Skipped != tt.wantSkipped || st.Exceeded != tt.wantExceeded || st.EmitErrors != 0 || st.CastErr != nil {
				t.Errorf("stats %+v", st)
			}
			h, events, err := ReadCast(&cast)
			if err != nil {
				t.Fatalf("cast: %v\n%s", err, cast.String())
			}
			var played strings.Builder
			for _, e := range events {
				played.WriteString(e.Text)
			}
			if played.String() != tt.wantText || h.Width != 80 || h.Height != 24 {
				t.Errorf("cast plays %q (%dx%d), want %q (80x24)", played.String(), h.Width, h.Height, tt.wantText)
			}
		})
	}
}

// TestRecordingDropsWhenFull holds the recorder in its document writer and
// offers more than the buffer takes: the rest is dropped and counted, the
// writer never waits.
func TestRecordingDropsWhenFull(t *testing.T) {
	var d docs
	entered, release := make(chan struct{}), make(chan struct{})
	first := true
	emit := func(line []byte) error {
		if first {
			first = false
			close(entered)
			<-release
		}
		return d.emit(line)
	}
	rec, err := New(Options{Session: detect.Session{EntityID: "E1"}, Emit: emit, BufferBytes: 8, DocumentBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec.Write([]byte("x\n"))
	<-entered
	rec.Write([]byte("1234567\n")) // fills the buffer
	rec.Write([]byte("abc\n"))     // does not fit: dropped
	close(release)
	st := rec.Close()
	_, text, captured, skipped, exceeded := d.decode(t)
	if text != "x\n1234567\n" || captured != 10 || skipped != 4 || exceeded {
		t.Errorf("documents: text %q captured %d skipped %d exceeded %v", text, captured, skipped, exceeded)
	}
	if st.Dropped != 4 || st.Skipped != 4 || st.Exceeded {
		t.Errorf("stats %+v, want 4 dropped", st)
	}
}

func TestRecordingSession(t *testing.T) {
	var d docs
	rec, _ := New(Options{Session: detect.Session{EntityID: "E1"}, Emit: d.emit})
	rec.SetSession(func(s *detect.Session) { s.PID = 77; s.TTY.Major, s.TTY.Minor, s.TTY.Known = 136, 4, true })
	rec.Resize(30, 100)
	rec.Write([]byte("hi\n"))
	rec.Close()
	rec.Close() // twice is fine
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.lines) != 1 {
		t.Fatalf("%d documents, want 1", len(d.lines))
	}
	var o struct {
		Process struct {
			PID int `json:"pid"`
			TTY struct {
				CharDevice struct{ Major, Minor int } `json:"char_device"`
				Rows       int                        `json:"rows"`
				Columns    int                        `json:"columns"`
			} `json:"tty"`
		} `json:"process"`
	}
	if err := json.Unmarshal(d.lines[0], &o); err != nil {
		t.Fatal(err)
	}
	p := o.Process
	if p.PID != 77 || p.TTY.CharDevice.Major != 136 || p.TTY.CharDevice.Minor != 4 || p.TTY.Rows != 30 || p.TTY.Columns != 100 {
		t.Errorf("process %+v", p)
	}
}

func TestReadCast(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
		want              []Event
	}{
		{"events", `{"version":2,"width":80,"height":24}` + "\n" + `[0.5,"o","a"]` + "\n" + `[1.0,"i","k"]` + "\n" + `[1.25,"o","b"]` + "\n", "", []Event{{500e6, "a"}, {1250e6, "b"}}},
		{"empty", "", "empty file", nil},
		{"version 1", `{"version":1}` + "\n", "version 1", nil},
		{"backwards", `{"version":2}` + "\n" + `[2,"o","a"]` + "\n" + `[1,"o","b"]` + "\n", "backwards", nil},
		{"malformed", `{"version":2}` + "\n" + `[1,"o"]` + "\n", "line 2", nil},
		{"negative time", `{"version":2}` + "\n" + `[-1,"o","x"]` + "\n", "line 2", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ev, err := ReadCast(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(ev) != len(tt.want) {
				t.Fatalf("events %v err %v, want %v", ev, err, tt.want)
			}
			for i := range ev {
				if ev[i] != tt.want[i] {
					t.Errorf("event %d = %v, want %v", i, ev[i], tt.want[i])
				}
			}
		})
	}
}

func TestCastName(t *testing.T) {
	name := CastName("exec-1", "ctr.a_b", timeAt(1700000000123456789))
	e, c, at, ok := ParseCastName(name)
	if !ok || e != "exec-1" || c != "ctr.a_b" || at.UnixNano() != 1700000000123456789 {
		t.Errorf("ParseCastName(%q) = %q %q %v %v", name, e, c, at, ok)
	}
	for _, bad := range []string{"x.cast", "a+b+c.cast", "a+b+1.txt", "+b+1.cast"} {
		if _, _, _, ok := ParseCastName(bad); ok {
			t.Errorf("ParseCastName(%q) ok", bad)
		}
	}
}

func timeAt(ns int64) time.Time { return time.Unix(0, ns) }

// TestDocumentSize checks documents stay within DocumentBytes, cut at line
// ends, and a longer line gets one of its own, whole.
func TestDocumentSize(t *testing.T) {
	var d docs
	rec, _ := New(Options{Session: detect.Session{EntityID: "E1"}, Emit: d.emit, DocumentBytes: 12, Redactor: newRedactor(t)})
	rec.Write([]byte(strings.Repeat("aaaa\n", 5) + "token=0123456789abcdef\n" + "bb\n"))
	rec.Close()
	all, text, _, _, _ := d.decode(t)
	want := []string{"aaaa\naaaa\n", "aaaa\naaaa\n", "aaaa\n", "token=[REDACTED]\n", "bb\n"}
	if len(all) != len(want) {
		t.Fatalf("%d documents, want %d: %q", len(all), len(want), text)
	}
	for i, o := range all {
		if o.Process.IO.Text != want[i] {
			t.Errorf("document %d: %q, want %q", i, o.Process.IO.Text, want[i])
		}
	}
}
