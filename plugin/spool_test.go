package plugin

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/execguard/execguard/eventlog"
	"github.com/execguard/execguard/state"
)

// TestReplaySpool: records spooled while the event log could not be
// written reach it through the plugin, with no runtime call needed.
func TestReplaySpool(t *testing.T) {
	dir := t.TempDir()
	s := DefaultSettings()
	s.ExecguardConfig = filepath.Join(dir, "none.toml")
	s.StateDir = filepath.Join(dir, "state")
	s.EventLog = filepath.Join(dir, "logs", "events.ndjson")
	log := logrus.New()
	log.SetOutput(io.Discard)
	p, err := New(s, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "logs"), nil, 0o600); err != nil { // the log cannot be made
		t.Fatal(err)
	}
	// A record the plugin writes itself is spooled, not an error.
	wctx, wcancel := context.WithCancel(context.Background())
	go p.writeLoop(wctx)
	defer func() { wcancel(); <-p.queue.drained }()
	p.mu.Lock()
	err = p.record([]byte("{\"n\":1}\n"), "event", ActionEnd)
	p.mu.Unlock()
	if err != nil {
		t.Fatalf("record while the log is unwritable: %v", err)
	}
	flushCtx, flushCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer flushCancel()
	if err := p.Flush(flushCtx); err != nil {
		t.Fatal(err)
	}
	if n, _ := eventlog.Pending(s.StateDir); n != 1 {
		t.Fatalf("%d records spooled, want the plugin's one", n)
	}
	l := eventlog.Log{Path: s.EventLog, StateDir: s.StateDir}
	if out, _ := l.Write([]byte("{\"n\":2}\n")); out != eventlog.Spooled {
		t.Fatalf("wrapper-side write: %v, want spooled", out)
	}
	if err := os.Remove(filepath.Join(dir, "logs")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.replaySpool(ctx, 10*time.Millisecond); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if n, _ := eventlog.Pending(s.StateDir); n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("spool not drained")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	data, err := os.ReadFile(s.EventLog)
	if err != nil || strings.Count(string(data), "\n") != 2 {
		t.Fatalf("event log %q (%v), want both records", data, err)
	}
	if c, _ := state.ReadCounters(s.StateDir); c != (state.Counters{Spooled: 2, Replayed: 2}) {
		t.Errorf("counters %+v", c)
	}
}

// TestReplayFollowsConfig: after event_log changes in execguard's
// configuration, records the wrapper spooled for the new log are replayed
// into it, not into the log the plugin read at start.
func TestReplayFollowsConfig(t *testing.T) {
	dir := t.TempDir()
	oldLog, newLog := filepath.Join(dir, "old", "events.ndjson"), filepath.Join(dir, "new", "events.ndjson")
	cfg := filepath.Join(dir, "config.toml")
	stateDir := filepath.Join(dir, "state")
	writeCfg := func(eventLog string) {
		t.Helper()
		tmp := cfg + ".tmp"
		if err := os.WriteFile(tmp, []byte("event_log = \""+eventLog+"\"\nstate_dir = \""+stateDir+"\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, cfg); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg(oldLog)
	s := DefaultSettings()
	s.ExecguardConfig = cfg
	log := logrus.New()
	log.SetOutput(io.Discard)
	p, err := New(s, log)
	if err != nil {
		t.Fatal(err)
	}
	if p.node.EventLog != oldLog {
		t.Fatalf("event log %q at start, want %q", p.node.EventLog, oldLog)
	}
	writeCfg(newLog)
	// The wrapper follows the configuration at once; its new log cannot be
	// made yet, so its record is spooled.
	if err := os.WriteFile(filepath.Join(dir, "new"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _ := (eventlog.Log{Path: newLog, StateDir: stateDir}).Write([]byte("{\"n\":1}\n")); out != eventlog.Spooled {
		t.Fatalf("wrapper-side write: %v, want spooled", out)
	}
	if err := os.Remove(filepath.Join(dir, "new")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.replaySpool(ctx, 10*time.Millisecond); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if n, _ := eventlog.Pending(stateDir); n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("spool not drained")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if data, err := os.ReadFile(newLog); err != nil || string(data) != "{\"n\":1}\n" {
		t.Errorf("configured log %q (%v), want the spooled record", data, err)
	}
	if data, err := os.ReadFile(oldLog); err == nil && len(data) > 0 {
		t.Errorf("the old log got %q", data)
	}
}
