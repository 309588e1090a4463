package plugin

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/detect"
)

// startDoc is the wrapper's container-start event for id, from its encoder.
func startDoc(t testing.TB, id string, tty bool, at time.Time) (line []byte, entityID string) {
	t.Helper()
	f := detect.Facts{
		Operation: detect.OpContainerStart, Subcommand: "create",
		Process:   detect.Process{Known: true, Terminal: tty, Args: []string{"/bin/sh"}},
		Container: detect.Container{ID: id},
	}
	pol := detect.DefaultPolicy()
	buf, err := detect.Encode(detect.Record{Facts: f, Decision: detect.Decide(f, pol), Policy: pol, Time: at})
	if err != nil {
		t.Fatal(err)
	}
	found, err := scanBytes(t, buf, map[string]bool{id: true}, 1<<20)
	if err != nil || found[id].EntityID == "" {
		t.Fatalf("own document not found: %v %+v", err, found)
	}
	return buf, found[id].EntityID
}

func lastLine(b []byte) []byte {
	return b[bytes.LastIndexByte(b[:len(b)-1], '\n')+1:]
}

func scanBytes(t testing.TB, data []byte, want map[string]bool, window int64) (map[string]startInfo, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return findStarts(path, want, window, nil)
}

// filler is an exec event line of about size bytes for another container.
func filler(i, size int) []byte {
	pad := strings.Repeat("x", max(size-120, 0))
	return []byte(fmt.Sprintf(`{"event":{"kind":"event","action":"exec"},"container":{"id":"other-%d"},"process":{"args":[%q]}}`+"\n", i, pad))
}

func TestFindStarts(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	ttyLine, ttyID := startDoc(t, "tty", true, t0)
	plainLine, _ := startDoc(t, "plain", false, t0)
	newerLine, newerID := startDoc(t, "tty", true, t0.Add(time.Hour))

	fill := func(n, size int) []byte {
		var b []byte
		for i := range n {
			b = append(b, filler(i, size)...)
		}
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	tests := []struct {
		name   string
		data   []byte
		want   map[string]bool
		window int64
		found  map[string]string // id -> entity id
	}{
		{"last line", cat(fill(10, 200), ttyLine), map[string]bool{"tty": true}, 1 << 20, map[string]string{"tty": ttyID}},
		{"first line of the file", cat(ttyLine, fill(10, 200)), map[string]bool{"tty": true}, 1 << 20, map[string]string{"tty": ttyID}},
		{"across chunk boundaries", cat(ttyLine, fill(700, 300)), map[string]bool{"tty": true}, 1 << 20, map[string]string{"tty": ttyID}},
		{"straddling the last chunk", cat(fill(3, 1000), ttyLine, fill(1, scanChunk-len(ttyLine)/2)), map[string]bool{"tty": true}, 1 << 20, map[string]string{"tty": ttyID}},
		{"beyond the window", cat(ttyLine, fill(100, 1000)), map[string]bool{"tty": true}, 50_000, map[string]string{}},
		// The wrapper wrote an event and an alert line; both name the start.
		{"cut by the window is not read", cat(ttyLine, fill(1, 1000)), map[string]bool{"tty": true}, int64(len(fill(1, 1000))+len(lastLine(ttyLine))) - 10, map[string]string{}},
		{"the alert line alone", cat(ttyLine, fill(1, 1000)), map[string]bool{"tty": true}, int64(len(fill(1, 1000)) + len(lastLine(ttyLine))), map[string]string{"tty": ttyID}},
		{"just inside the window", cat(ttyLine, fill(1, 1000)), map[string]bool{"tty": true}, int64(len(fill(1, 1000)) + len(ttyLine)), map[string]string{"tty": ttyID}},
		{"newest wins", cat(ttyLine, fill(5, 100), newerLine), map[string]bool{"tty": true}, 1 << 20, map[string]string{"tty": newerID}},
		{"several at once", cat(plainLine, fill(200, 500), ttyLine, fill(3, 100)), map[string]bool{"tty": true, "plain": true, "absent": true}, 1 << 20,
			map[string]string{"tty": ttyID, "plain": ""}},
		{"other containers only", fill(50, 100), map[string]bool{"tty": true}, 1 << 20, map[string]string{}},
		{"torn and foreign lines", cat([]byte("not json\n{\"event\":{\"action\":\"container-start\"}}\n"), ttyLine, []byte("{\"half\":")),
			map[string]bool{"tty": true}, 1 << 20, map[string]string{"tty": ttyID}},
		{"empty file", nil, map[string]bool{"tty": true}, 1 << 20, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scanBytes(t, tt.data, tt.want, tt.window)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.found) {
				t.Fatalf("found %v, want %v", got, tt.found)
			}
			for id, eid := range tt.found {
				si, ok := got[id]
				if !ok {
					t.Fatalf("%s not found", id)
				}
				if eid != "" && si.EntityID != eid {
					t.Errorf("%s: entity id %s, want %s", id, si.EntityID, eid)
				}
				if si.Interactive != (id == "tty") || si.Source != "event-log" || si.Time.IsZero() {
					t.Errorf("%s: %+v", id, si)
				}
			}
		})
	}
	if got, err := findStarts(filepath.Join(t.TempDir(), "missing"), map[string]bool{"x": true}, 1<<20, nil); err != nil || len(got) != 0 {
		t.Errorf("missing log: %v, %v", got, err)
	}
}

func TestFindStartsEscapedID(t *testing.T) {
	id := `a<b>&"c`
	line, eid := startDoc(t, id, true, time.Now())
	got, err := scanBytes(t, append(filler(1, 100), line...), map[string]bool{id: true}, 1<<20)
	if err != nil || got[id].EntityID != eid {
		t.Errorf("got %+v, %v; want entity id %s", got, err, eid)
	}
}
