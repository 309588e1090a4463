package plugin

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/execguard/execguard/eventlog"
)

// QueueSize bounds the documents waiting for the plugin's writer. A handler
// that finds the queue full spools its document instead of waiting.
const QueueSize = 1024

// drainLockWait bounds the wait for the writers' lock of each document
// written while the plugin stops; once one is spooled, the rest are too.
const drainLockWait = 200 * time.Millisecond

// Errors a document put straight into the spool is reported with.
var (
	errQueueFull = errors.New("the plugin's write queue is full")
	errStopping  = errors.New("the plugin is stopping")
)

// queued is one document for the event log, with the log it was meant for
// when it was queued; a flush marker has only done.
type queued struct {
	buf          []byte
	log          eventlog.Log
	kind, action string
	done         chan struct{}
}

// writeQueue carries documents from the NRI handlers to the writer
// goroutine: the event log's lock or a slow disk must never hold a handler
// past the runtime's timeout, which would cost the plugin its connection.
type writeQueue struct {
	mu      sync.RWMutex
	closed  bool
	ch      chan queued
	drained chan struct{} // closed once the writer has drained a closed queue
}

func newWriteQueue(size int) *writeQueue {
	return &writeQueue{ch: make(chan queued, size), drained: make(chan struct{})}
}

// put queues q unless the queue is full or closed; it never blocks.
func (w *writeQueue) put(q queued) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return errStopping
	}
	select {
	case w.ch <- q:
		return nil
	default:
		return errQueueFull
	}
}

// close stops put; what is queued stays for the writer to drain.
func (w *writeQueue) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

func (w *writeQueue) len() int { return len(w.ch) }

// record hands a document to the writer goroutine. The caller holds p.mu;
// this never waits for the event log. A document the queue cannot take is
// spooled at once (counted, replayed later); only a document neither can
// take is an error.
func (p *Plugin) record(buf []byte, kind, action string) error {
	l := eventlog.Log{Path: p.node.EventLog, StateDir: p.node.StateDir}
	err := p.queue.put(queued{buf: buf, log: l, kind: kind, action: action})
	if err == nil {
		return nil
	}
	out, spErr := l.Spool(buf, err)
	if out == eventlog.Spooled {
		p.log.WithError(err).WithField("action", action).Warn("event spooled: not queued for the event log")
		p.written(kind, action, nil)
		return nil
	}
	p.written(kind, action, spErr)
	return spErr
}

// writeLoop writes queued documents to the event log until ctx ends, then
// drains the queue: written while the log takes them promptly, spooled
// otherwise, so a stopping plugin neither loses a document nor hangs.
func (p *Plugin) writeLoop(ctx context.Context) {
	defer close(p.queue.drained)
	var left []queued
	for len(left) == 0 && ctx.Err() == nil {
		select {
		case q := <-p.queue.ch:
			if ctx.Err() != nil {
				left = append(left, q)
				break
			}
			p.writeQueued(q, 0)
		case <-ctx.Done():
		}
	}
	p.queue.close()
	for {
		select {
		case q := <-p.queue.ch:
			left = append(left, q)
			continue
		default:
		}
		break
	}
	spoolRest := false
	for _, q := range left {
		if spoolRest {
			p.spoolQueued(q, errStopping)
		} else if p.writeQueued(q, drainLockWait) != eventlog.Written {
			spoolRest = true
		}
	}
}

// writeQueued writes one document (a flush marker: releases its waiter),
// waiting at most lockWait for the writers' lock (0: the log's default).
func (p *Plugin) writeQueued(q queued, lockWait time.Duration) eventlog.Outcome {
	if q.done != nil {
		close(q.done)
		return eventlog.Written
	}
	q.log.LockWait = lockWait
	out, err := q.log.Write(q.buf)
	p.mu.Lock()
	defer p.mu.Unlock()
	switch out {
	case eventlog.Written:
		if err != nil && err.Error() != p.logDirWarned {
			// Written, in a directory someone else could change: said
			// once while it lasts.
			p.log.WithError(err).Warn("event log directory unsafe")
			p.lastErr = err.Error()
		}
		p.logDirWarned = errString(err)
		p.written(q.kind, q.action, nil)
	case eventlog.Spooled:
		p.log.WithError(err).WithField("action", q.action).Warn("event spooled: the event log cannot be written")
		p.written(q.kind, q.action, nil)
	default:
		p.written(q.kind, q.action, err)
	}
	return out
}

func (p *Plugin) spoolQueued(q queued, why error) {
	if q.done != nil {
		close(q.done)
		return
	}
	out, err := q.log.Spool(q.buf, why)
	p.mu.Lock()
	defer p.mu.Unlock()
	if out == eventlog.Spooled {
		p.log.WithFields(logrus.Fields{"action": q.action}).WithError(why).Warn("event spooled")
		err = nil
	}
	p.written(q.kind, q.action, err)
}

// Flush waits until every document queued before it has been written to the
// event log or spooled, or until ctx ends.
func (p *Plugin) Flush(ctx context.Context) error {
	done := make(chan struct{})
	for {
		err := p.queue.put(queued{done: done})
		if err == nil {
			break
		}
		if errors.Is(err, errStopping) {
			select {
			case <-p.queue.drained:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
