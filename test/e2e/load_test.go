//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/execguard/execguard/test/node"
)

// TestLoadOneEventPerExec runs 500 execs across 20 containers, 20 in flight,
// through containerd and the wrapper (every fifth one interactive): every
// exec runs and prints its marker, and has exactly one exec event, marked
// interactive as it was, interactive ones exactly one alert, the others
// none; every line of the log is one whole JSON document. (execguard-bench
// -load measures the same load's latency against runc called directly.)
func TestLoadOneEventPerExec(t *testing.T) {
	const (
		containers  = 20
		execs       = 500
		concurrency = 20
		ttyEvery    = 5
	)
	e := newEnv(t, "alert")
	var ctrs []string
	var pod string
	for i := range containers {
		if i%5 == 0 {
			id, err := e.node.RunPod(fmt.Sprintf("load-%d", i/5), "load")
			if err != nil {
				t.Fatal(err)
			}
			pod = id
		}
		id, err := e.node.CreateContainer(pod, fmt.Sprintf("app-%d", i), false, "sleep", "3600")
		if err != nil {
			t.Fatal(err)
		}
		ctrs = append(ctrs, id)
	}

	mark := e.mark()
	load := make([]node.Exec, execs)
	tty := map[string]bool{}
	for i := range load {
		marker := fmt.Sprintf("load-%d", i)
		load[i] = node.Exec{Container: ctrs[i%len(ctrs)], TTY: i%ttyEvery == 0, Cmd: []string{"echo", marker}}
		tty[marker] = load[i].TTY
	}
	for _, r := range e.node.RunExecs(load, concurrency, nil) {
		if r.Err != nil {
			t.Errorf("%v\n%s", r.Err, r.Output)
		} else if !strings.Contains(r.Output, r.Cmd[1]) {
			t.Errorf("exec %s printed %q", r.Cmd[1], r.Output)
		}
	}

	events := map[string][]doc{}
	alerts := map[string]int{}
	for _, d := range e.since(mark) { // fails on a torn or merged line
		args := d.strs("process.args")
		if actionOf(d) != "exec" || len(args) != 2 {
			continue
		}
		if _, ours := tty[args[1]]; !ours {
			continue
		}
		switch d.str("event.kind") {
		case "event":
			events[args[1]] = append(events[args[1]], d)
		case "alert":
			alerts[args[1]]++
		}
	}
	for marker, interactive := range tty {
		evs := events[marker]
		if len(evs) != 1 {
			t.Errorf("exec %s has %d exec events, want 1", marker, len(evs))
			continue
		}
		check(t, "exec "+marker, evs[0], []expectation{{"process.interactive", interactive}, {"event.outcome", "success"}})
		want := 0
		if interactive {
			want = 1
		}
		if alerts[marker] != want {
			t.Errorf("exec %s (tty %v) has %d alerts, want %d", marker, interactive, alerts[marker], want)
		}
	}
}
