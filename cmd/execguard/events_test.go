package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	demoEvents    = "../../eventview/testdata/demo.ndjson"
	pluginEvents  = "../../eventview/testdata/plugin.ndjson"
	hostileEvents = "../../eventview/testdata/hostile.ndjson"
)

func TestEvents(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		lines    int
		contains []string
		absent   []string
	}{
		{"all", []string{demoEvents}, 0, 18, []string{
			"2026-12-02T19:55:10.892Z Warning  Interactive exec blocked (namespace=demo pod=web container=shell image=docker.io/library/busybox:e2e command=\"sh -c 'touch /tmp/was-here'\" tty=true user=0 decision=block)",
			"Low      Exec Into Container Detected via Defend for Containers (",
			"Exec ended (namespace=demo pod=web container=shell image=docker.io/library/busybox:e2e command=id tty=false exit=0)",
		}, []string{"\x1b["}},
		{"alerts", []string{demoEvents, "--kind", "alert"}, 0, 4, []string{"High", "Low"}, []string{"Info"}},
		{"blocked", []string{"--outcome", "failure", demoEvents}, 0, 4, []string{"decision=block"}, []string{"decision=alert"}},
		{"container", []string{demoEvents, "--container", "web"}, 0, 2, []string{"command=\"/bin/sleep 2147483647\"", "Container ended"}, nil},
		{"pod and namespace patterns", []string{pluginEvents, "--namespace", "pay*", "--pod", "vm-?od"}, 0, 1, []string{"Container not covered by execguard"}, nil},
		{"time window", []string{demoEvents, "--since", "2026-12-02T19:55:10.6Z", "--until", "2026-12-02T19:55:10.8Z"}, 0, 4, nil, nil},
		{"since a duration before now", []string{demoEvents, "--since", "200000h"}, 0, 18, nil, nil},
		{"until a duration before now", []string{demoEvents, "--until", "200000h"}, 0, 0, nil, nil},
		{"colour forced", []string{demoEvents, "--kind", "alert", "--color", "always"}, 0, 4, []string{"\x1b[31;1mHigh\x1b[0;22m"}, nil},
		{"hostile: escaped, bad lines reported, exit 1", []string{hostileEvents}, 1, 7, []string{`\x1b]52;c;`, `web-\u202eexe.txt`}, []string{"\x1b", "\u202e", "\x07"}},
		{"bad kind", []string{demoEvents, "--kind", "alerts"}, 2, 0, nil, nil},
		{"bad outcome", []string{demoEvents, "--outcome", "blocked"}, 2, 0, nil, nil},
		{"bad pattern", []string{demoEvents, "--pod", "[x"}, 2, 0, nil, nil},
		{"bad since", []string{demoEvents, "--since", "yesterday"}, 2, 0, nil, nil},
		{"bad output", []string{demoEvents, "-o", "yaml"}, 2, 0, nil, nil},
		{"bad colour", []string{demoEvents, "--color", "sometimes"}, 2, 0, nil, nil},
		{"two files", []string{demoEvents, pluginEvents}, 2, 0, nil, nil},
		{"missing file", []string{"testdata/none.ndjson"}, 1, 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"events"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			if n := strings.Count(out, "\n"); n != tt.lines {
				t.Errorf("%d lines, want %d:\n%s", n, tt.lines, out)
			}
			for _, want := range tt.contains {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			for _, no := range tt.absent {
				if strings.Contains(out, no) {
					t.Errorf("stdout has %q:\n%s", no, out)
				}
			}
		})
	}
}

// -o json passes the documents that pass the filters through byte for
// byte; standard input is read for "-".
func TestEventsJSON(t *testing.T) {
	data, err := os.ReadFile(demoEvents)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	var alerts []byte
	for _, l := range lines {
		if bytes.Contains(l, []byte(`"kind":"alert"`)) {
			alerts = append(alerts, l...)
		}
	}
	code, out, errOut := runCLIStdin(t, string(data), "events", "-", "-o", "json", "--kind", "alert")
	if code != 0 || out != string(alerts) || len(alerts) == 0 {
		t.Errorf("exit %d, stderr %s\ngot:\n%s\nwant:\n%s", code, errOut, out, alerts)
	}
	code, out, _ = runCLI(t, "events", "-o", "json", demoEvents)
	if code != 0 || out != string(data) {
		t.Errorf("unfiltered -o json is not the file: exit %d\n%s", code, out)
	}
}

// Without a file, the events come from the configuration's event_log.
func TestEventsFromConfig(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "events.ndjson")
	data, err := os.ReadFile(pluginEvents)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(log, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte("event_log = \""+log+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "events", "--config", cfg)
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "Interactive container ended") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}

// syncBuffer is a buffer one goroutine writes while another reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// events -f prints what is appended, filtered, until it is stopped.
func TestEventsFollow(t *testing.T) {
	data, err := os.ReadFile(demoEvents)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	log := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(log, bytes.Join(lines[:3], nil), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	a := &app{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}
	done := make(chan int, 1)
	go func() { done <- a.execute(a.rootCommand(), []string{"events", "-f", "--kind", "alert", log}) }()

	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for strings.Count(out.String(), "\n") < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d alert lines after 20s, want %d:\n%s%s", strings.Count(out.String(), "\n"), n, out.String(), errOut.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(bytes.Join(lines[3:5], nil)) // the first alert, then the exec's end
	waitFor(1)
	f.Write(bytes.Join(lines[5:], nil)) // three more alerts, two of blocked execs
	waitFor(4)
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
	got := out.String()
	if strings.Count(got, "\n") != 4 || !strings.Contains(got, "decision=alert") || !strings.Contains(got, "decision=block") || strings.Contains(got, "Info ") {
		t.Errorf("followed output:\n%s", got)
	}
}
