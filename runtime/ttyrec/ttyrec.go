// Package ttyrec records what a terminal session shows: the output copied
// to the session's client is offered to a Recording, which never blocks the
// copy (output that does not fit its bounded buffer is dropped and counted),
// and a goroutine of its own redacts it line by line, writes it as
// text_output documents and as an asciicast v2 file.
package ttyrec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/execguard/execguard/detect"
)

// Defaults of Options.
const (
	// DefaultMaxBytes is a session's cap on recorded output, Elastic
	// Defend's default max_kilobytes_per_process.
	DefaultMaxBytes = 512 << 10
	// DefaultBufferBytes bounds the output waiting to be recorded.
	DefaultBufferBytes = 1 << 20
	// DefaultDocumentBytes is the output one document carries at most.
	DefaultDocumentBytes = 16 << 10
	// DefaultFlushInterval is how long recorded output waits for more
	// before its document is written.
	DefaultFlushInterval = time.Second
	// maxHeldLine bounds a line kept whole for redaction: longer lines are
	// redacted in pieces of this size.
	maxHeldLine = 4 << 10
)

// Options configure a Recording.
type Options struct {
	// Lifecycle and Session are what each document says of the container
	// and the process; Session can be completed later (SetSession).
	Lifecycle detect.Lifecycle
	Session   detect.Session
	// Redactor rewrites secrets in the recorded text; nil records it as it
	// is.
	Redactor *detect.Redactor
	// Emit writes one text_output document line.
	Emit func(line []byte) error
	// Cast receives the asciicast v2 recording; nil writes none. The
	// Recording closes it when it is an io.Closer.
	Cast io.Writer
	// MaxBytes caps the output recorded of the session; BufferBytes bounds
	// what waits to be recorded; DocumentBytes the text of one document;
	// FlushInterval how long output waits for more. Zero: the defaults.
	MaxBytes      int64
	BufferBytes   int
	DocumentBytes int
	FlushInterval time.Duration
	// Start is the session's start (the cast's time zero); zero: now.
	Start time.Time
}

// Stats are a recording's counters.
type Stats struct {
	// Captured bytes of output were recorded; Skipped were not (Dropped of
	// them because the buffer was full, the others past the cap).
	Captured, Skipped, Dropped int64
	Exceeded                   bool
	// Documents were emitted; EmitErrors of them failed.
	Documents, EmitErrors int
	// CastErr is the first error writing the cast.
	CastErr error
}

// mark ends a piece of buffered output and says when it was offered.
type mark struct {
	end int
	at  time.Time
}

// Recording records one terminal session. Write may be called from one
// copying goroutine while the recording runs; Close ends it.
type Recording struct {
	opts Options

	mu      sync.Mutex
	pend    []byte
	marks   []mark
	seen    int64 // bytes under the cap, recorded or dropped, over the session
	dropped int64 // since the last take: buffer full
	capped  int64 // since the last take: past the cap
	exceed  bool
	closed  bool
	session detect.Session
	rows    uint16
	cols    uint16

	wake chan struct{}
	done chan struct{}
	fin  chan Stats
}

// New starts a recording.
func New(opts Options) (*Recording, error) {
	if opts.Emit == nil {
		return nil, errors.New("ttyrec: no document writer")
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.BufferBytes <= 0 {
		opts.BufferBytes = DefaultBufferBytes
	}
	if opts.DocumentBytes <= 0 {
		opts.DocumentBytes = DefaultDocumentBytes
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.Start.IsZero() {
		opts.Start = time.Now()
	}
	r := &Recording{
		opts: opts, session: opts.Session,
		rows: opts.Session.TTY.Rows, cols: opts.Session.TTY.Columns,
		wake: make(chan struct{}, 1), done: make(chan struct{}), fin: make(chan Stats, 1),
	}
	go r.run()
	return r, nil
}

// Write offers output to the recording. It never blocks on the recording
// and never fails: output the buffer cannot take is dropped and counted.
func (r *Recording) Write(p []byte) (int, error) {
	n := len(p)
	if n == 0 {
		return 0, nil
	}
	now := time.Now()
	queued := false
	r.mu.Lock()
	switch {
	case r.closed:
	case r.seen >= r.opts.MaxBytes:
		r.capped += int64(n)
		r.exceed = true
	default:
		take := p
		// Bytes dropped count against the cap too, so the cap bounds what
		// a session is said to have shown, recorded or not.
		if room := r.opts.MaxBytes - r.seen; int64(len(take)) > room {
			take = take[:max(room, 0)]
			r.capped += int64(n - len(take))
			r.exceed = true
		}
		r.seen += int64(len(take))
		if len(r.pend)+len(take) > r.opts.BufferBytes {
			r.dropped += int64(len(take))
		} else if len(take) > 0 {
			r.pend = append(r.pend, take...)
			r.marks = append(r.marks, mark{end: len(r.pend), at: now})
			queued = true
		}
	}
	r.mu.Unlock()
	if !queued {
		return n, nil // counted only: the next flush says so
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return n, nil
}

// Skip counts n bytes of output that went by without being offered: under
// the cap (pastCap false) they were dropped for want of room, past it they
// are over the cap. A copy that does its own cap accounting reports the
// bytes it does not offer through Skip, in stream order with what it
// offers.
func (r *Recording) Skip(n int64, pastCap bool) {
	if n <= 0 {
		return
	}
	r.mu.Lock()
	switch {
	case r.closed:
	case pastCap:
		// Output offered before these bytes may still be on its way to
		// Write: the cap is the copy's to apply, so Write is not told.
		r.capped += n
		r.exceed = true
	default:
		r.seen += n
		r.dropped += n
	}
	r.mu.Unlock()
}

// MaxBytes is the recording's cap.
func (r *Recording) MaxBytes() int64 { return r.opts.MaxBytes }

// Resize notes the terminal's size: the cast's header takes the size known
// when its first output is written, documents the latest.
func (r *Recording) Resize(rows, cols uint16) {
	r.mu.Lock()
	r.rows, r.cols = rows, cols
	r.mu.Unlock()
}

// SetSession completes what documents say of the process (its pid and
// terminal become known when it has started).
func (r *Recording) SetSession(update func(*detect.Session)) {
	r.mu.Lock()
	update(&r.session)
	r.mu.Unlock()
}

// Close records what is left and ends the recording.
func (r *Recording) Close() Stats {
	r.mu.Lock()
	already := r.closed
	r.closed = true
	r.mu.Unlock()
	if !already {
		close(r.done)
	}
	st := <-r.fin
	r.fin <- st
	return st
}

// batch is what the recorder takes from the buffer at once.
type batch struct {
	data    []byte
	marks   []mark
	skipped int64
	dropped int64
	exceed  bool
	session detect.Session
	rows    uint16
	cols    uint16
}

func (r *Recording) take(spare []byte, spareMarks []mark) batch {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := batch{
		data: r.pend, marks: r.marks, skipped: r.dropped + r.capped, dropped: r.dropped,
		exceed: r.exceed, session: r.session, rows: r.rows, cols: r.cols,
	}
	r.pend, r.marks = spare[:0], spareMarks[:0]
	r.dropped, r.capped = 0, 0
	return b
}

// writer is the recorder's side: held text, the document being filled and
// the cast.
type writer struct {
	r     *Recording
	st    Stats
	held  []byte
	heldT time.Time

	doc      bytes.Buffer
	docT     time.Time
	docBytes int64
	docSkip  int64
	lastDocT time.Time
	exceed   bool
	sent     bool // a document says the cap was exceeded

	cast       io.Writer
	castHeader bool
	session    detect.Session
	rows, cols uint16
}

func (r *Recording) run() {
	w := &writer{r: r, cast: r.opts.Cast}
	tick := time.NewTicker(r.opts.FlushInterval)
	defer tick.Stop()
	var spare []byte
	var spareMarks []mark
	for {
		stop := false
		select {
		case <-r.wake:
		case <-tick.C:
			w.flushDoc()
			continue
		case <-r.done:
			stop = true
		}
		b := r.take(spare, spareMarks)
		w.apply(b)
		spare, spareMarks = b.data, b.marks
		if stop {
			break
		}
	}
	w.finish()
	r.fin <- w.st
}

func (w *writer) apply(b batch) {
	w.session, w.rows, w.cols = b.session, b.rows, b.cols
	w.st.Skipped += b.skipped
	w.st.Dropped += b.dropped
	w.docSkip += b.skipped
	if b.exceed {
		w.exceed, w.st.Exceeded = true, true
	}
	start := 0
	for _, m := range b.marks {
		w.add(b.data[start:m.end], m.at)
		start = m.end
	}
	w.flushCast()
}

// add takes a piece of output: whole lines are redacted and recorded, the
// rest is held for the rest of its line.
func (w *writer) add(p []byte, at time.Time) {
	w.st.Captured += int64(len(p))
	if len(w.held) == 0 {
		w.heldT = at
	}
	w.held = append(w.held, p...)
	if i := bytes.LastIndexByte(w.held, '\n'); i >= 0 {
		w.record(w.held[:i+1], at)
		w.held = append(w.held[:0], w.held[i+1:]...)
		w.heldT = at
	}
	for len(w.held) > maxHeldLine {
		cut := runeCut(w.held, maxHeldLine)
		w.record(w.held[:cut], at)
		w.held = append(w.held[:0], w.held[cut:]...)
	}
}

// runeCut is the largest cut of p at most n bytes long that does not split
// a UTF-8 sequence (n when p is no UTF-8 there).
func runeCut(p []byte, n int) int {
	for i := n; i > n-utf8.UTFMax && i > 0; i-- {
		if utf8.RuneStart(p[i]) {
			return i
		}
	}
	return n
}

// record redacts text and adds it to the document and the cast, in
// pieces that keep each document within DocumentBytes, cut at line ends
// only: a line longer than that (add cuts lines at maxHeldLine) gets a
// document of its own, so that redaction sees it whole.
func (w *writer) record(raw []byte, at time.Time) {
	for len(raw) > 0 {
		room := max(w.r.opts.DocumentBytes-w.doc.Len(), 1)
		piece := raw
		if len(piece) > room {
			if i := bytes.LastIndexByte(piece[:room], '\n'); i >= 0 {
				piece = piece[:i+1]
			} else if w.doc.Len() > 0 {
				w.flushDoc()
				continue
			} else if i := bytes.IndexByte(piece, '\n'); i >= 0 {
				piece = piece[:i+1]
			}
		}
		raw = raw[len(piece):]
		text := w.r.opts.Redactor.Text(string(piece))
		if w.doc.Len() == 0 {
			w.docT = at
		}
		w.doc.WriteString(text)
		w.docBytes += int64(len(piece))
		w.castEvent(text, at)
		if w.doc.Len() >= w.r.opts.DocumentBytes {
			w.flushDoc()
		}
	}
}

func (w *writer) flushDoc() {
	if w.doc.Len() == 0 && w.docSkip == 0 && (!w.exceed || w.sent) {
		return
	}
	at := w.docT
	if at.IsZero() {
		at = time.Now()
	}
	// Session View orders a session's output by @timestamp.
	if !at.After(w.lastDocT) {
		at = w.lastDocT.Add(time.Microsecond)
	}
	w.lastDocT = at
	s := w.session
	s.TTY.Rows, s.TTY.Columns = w.rows, w.cols
	l := w.r.opts.Lifecycle
	l.Time = at
	line, err := detect.EncodeTextOutput(detect.TextOutput{
		Lifecycle: l, Session: s, Text: w.doc.String(),
		Captured: w.docBytes, Skipped: w.docSkip, Exceeded: w.exceed,
	})
	if err == nil {
		err = w.r.opts.Emit(line)
	}
	w.st.Documents++
	if err != nil {
		w.st.EmitErrors++
	}
	w.sent = w.sent || w.exceed
	w.doc.Reset()
	w.docT, w.docBytes, w.docSkip = time.Time{}, 0, 0
}

func (w *writer) finish() {
	if len(w.held) > 0 {
		w.record(w.held, w.heldT)
		w.held = nil
	}
	w.flushDoc()
	w.writeCastHeader()
	w.flushCast()
	if c, ok := w.cast.(io.Closer); ok {
		if err := c.Close(); err != nil && w.st.CastErr == nil {
			w.st.CastErr = err
		}
	}
}

func (w *writer) castEvent(text string, at time.Time) {
	if w.cast == nil || w.st.CastErr != nil || text == "" {
		return
	}
	w.writeCastHeader()
	line, err := castEventLine(at.Sub(w.r.opts.Start), text)
	if err == nil {
		_, err = w.cast.Write(line)
	}
	if err != nil {
		w.st.CastErr = fmt.Errorf("cast: %w", err)
	}
}

func (w *writer) writeCastHeader() {
	if w.cast == nil || w.castHeader || w.st.CastErr != nil {
		return
	}
	w.castHeader = true
	h := Header{Version: 2, Width: int(w.cols), Height: int(w.rows), Timestamp: w.r.opts.Start.Unix(), Title: castTitle(w.r.opts.Lifecycle.Container, w.session)}
	line, err := h.line()
	if err == nil {
		_, err = w.cast.Write(line)
	}
	if err != nil {
		w.st.CastErr = fmt.Errorf("cast header: %w", err)
	}
}

func (w *writer) flushCast() {
	if f, ok := w.cast.(interface{ Flush() error }); ok && w.st.CastErr == nil {
		if err := f.Flush(); err != nil {
			w.st.CastErr = fmt.Errorf("cast: %w", err)
		}
	}
}
