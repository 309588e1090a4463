package plugin

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/state"
)

// wrapperStart is what the wrapper does at a container's create: its
// container-start document (the first line) and its coverage mark, with the
// mark's content computed as the wrapper computes it.
func wrapperStart(tb testing.TB, id string, tty bool, at time.Time) ([]byte, state.Mark) {
	tb.Helper()
	f := detect.Facts{
		Operation: detect.OpContainerStart, Subcommand: "create",
		Process:   detect.Process{Known: true, Terminal: tty, Args: []string{"/bin/sh"}},
		Container: detect.Container{ID: id},
	}
	pol := detect.DefaultPolicy()
	d := detect.Decide(f, pol)
	rec := detect.Record{Facts: f, Decision: d, Policy: pol, Time: at}
	buf, err := detect.Encode(rec)
	if err != nil {
		tb.Fatal(err)
	}
	return buf, state.Mark{EntityID: detect.ProcessEntityID(rec), Time: detect.Timestamp(rec), Interactive: d.Interactive}
}

// firstDoc decodes the first line of buf.
func firstDoc(t *testing.T, buf []byte) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.NewDecoder(bytes.NewReader(buf)).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

func member(d map[string]any, keys ...string) any {
	var cur any = d
	for _, k := range keys {
		m, _ := cur.(map[string]any)
		cur = m[k]
	}
	return cur
}

// TestEndPairsWithStart: the end event the plugin writes from a mark carries
// the entity id and start time of the wrapper's container-start event.
func TestEndPairsWithStart(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890123000, time.FixedZone("x", 3600))
	rec := state.Container{ID: "ctr", Name: "shell"}
	tests := []struct {
		name        string
		tty         bool // the init's process spec
		envTTY      bool // TERM=xterm in its environment
		mark        func(state.Mark) state.Mark
		interactive bool
		pairing     string // execguard.pairing of the end event
		source      string
	}{
		{name: "interactive init", tty: true, interactive: true, pairing: "entity_id", source: sourceMark},
		{name: "the mark wins over TERM=xterm", tty: false, envTTY: true, interactive: false, source: sourceMark},
		{name: "the mark wins over no TERM", tty: true, envTTY: false, interactive: true, pairing: "entity_id", source: sourceMark},
		{name: "empty mark, TERM=xterm", tty: true, envTTY: true, mark: func(state.Mark) state.Mark { return state.Mark{} },
			interactive: true, pairing: "container.id", source: sourceEnv},
		{name: "empty mark, no TERM", tty: true, mark: func(state.Mark) state.Mark { return state.Mark{} }, source: sourceEnv},
		{name: "unparsable time", tty: true, mark: func(m state.Mark) state.Mark { m.Time = "yesterday"; return m },
			interactive: true, pairing: "entity_id", source: sourceMark},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, m := wrapperStart(t, rec.ID, tt.tty, at)
			if tt.mark != nil {
				m = tt.mark(m)
			}
			si := startFromMark(m, tt.envTTY)
			if si.Interactive != tt.interactive || si.Source != tt.source || si.EntityID != m.EntityID {
				t.Fatalf("start from mark %+v = %+v", m, si)
			}
			if !si.Interactive {
				return
			}
			buf, err := docContext{}.endEvent(at.Add(time.Minute), rec, si, []string{"/bin/sh"}, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			start, end := firstDoc(t, line), firstDoc(t, buf)
			if got := member(end, "execguard", "pairing"); got != tt.pairing {
				t.Errorf("pairing = %v, want %s", got, tt.pairing)
			}
			wantID, wantStart := member(start, "process", "entity_id"), member(start, "@timestamp")
			if tt.pairing == "container.id" {
				wantID, wantStart = nil, nil
			}
			if m.Time == "yesterday" {
				wantStart = nil
			}
			if got := member(end, "process", "entity_id"); got != wantID {
				t.Errorf("process.entity_id = %v, want %v", got, wantID)
			}
			if got := member(end, "process", "entry_leader", "entity_id"); got != wantID {
				t.Errorf("process.entry_leader.entity_id = %v, want %v", got, wantID)
			}
			if got := member(end, "process", "start"); got != wantStart {
				t.Errorf("process.start = %v, want %v", got, wantStart)
			}
		})
	}
}

// A mark from a front that writes its own end events says so, and the
// plugin's start facts carry it (endIfInteractive then writes no end).
func TestStartFromMarkEndsBy(t *testing.T) {
	for _, endsBy := range []string{"", "execguard-shim"} {
		si := startFromMark(state.Mark{EntityID: "e", Time: "2026-03-04T05:06:07Z", Interactive: true, EndsBy: endsBy}, false)
		if si.EndsBy != endsBy || !si.Interactive || si.Source != sourceMark {
			t.Errorf("mark ending by %q: start %+v", endsBy, si)
		}
	}
}
