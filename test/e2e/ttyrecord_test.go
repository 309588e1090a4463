//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/execguard/execguard/runtime/ttyrec"
	"github.com/execguard/execguard/test/node"
)

// recordPolicy records the terminal execs of namespace shop.
const recordPolicy = `process:
  selectors:
    - name: shop
      operation: [exec]
      kubernetesNamespace: [shop]
  responses:
    - match: [shop]
      actions: [record]
`

// recordCap is the tests' tty_record_max_bytes.
const recordCap = 4096

// TestShimTerminalRecording records terminal sessions through execguard's
// shim: off until a policy response asks for it; then the output becomes
// text_output documents of the exec's session, with the secret redacted,
// keystrokes absent, the cap honoured and counted, and a cast that
// execguard replay and asciinema play; a recording that cannot be set up
// leaves the exec to the fail mode.
func TestShimTerminalRecording(t *testing.T) {
	e := newFrontEnv(t, "alert", frontShim)
	bin := buildCommand(t, "./cmd/execguard", filepath.Join(e.dir, "bin", "execguard"))
	_, ctr := e.startPod("rec", "shop", "app")
	castDir := ttyrec.CastDir(e.eventLog)

	// Off by default.
	mark := e.mark()
	if out, err := e.node.CtrExecTTY(ctr, "eg-norec", "sh", "-c", "echo unrecorded-output"); err != nil || !strings.Contains(out, "unrecorded-output") {
		t.Fatalf("ctr task exec --tty: %v\n%s", err, out)
	}
	docs := e.since(mark)
	if outs := filter(docs, "event", "text_output", ctr); len(outs) != 0 {
		t.Errorf("default policy recorded output: %v", outs)
	}
	if ex := filter(docs, "event", "exec", ctr); len(ex) != 1 || ex[0].str("execguard.exec_id") != "eg-norec" {
		t.Fatalf("exec events %v, want eg-norec's", ex)
	} else if _, ok := ex[0].get("execguard.recorded"); ok {
		t.Errorf("unrecorded exec says execguard.recorded")
	}
	if m, _ := filepath.Glob(filepath.Join(castDir, "eg-norec+*")); len(m) != 0 {
		t.Errorf("cast written for an unrecorded exec: %v", m)
	}

	policyPath := filepath.Join(e.dir, "policy.yaml")
	replaceFile(t, policyPath, recordPolicy)
	writeRecordConfig(t, e, policyPath, "open")

	// A recorded session: output with a secret, then a keystroke typed
	// with echo off, which the shell counts without showing.
	const keystrokes = "typed-keystrokes-Q7"
	script := "echo visible-line; echo token=hunter2; stty -echo; echo ready-for-input; read x; stty echo; echo got-${#x}-chars"
	mark = e.mark()
	out := typeInto(t, e.node, e.node.CtrArgv("task", "exec", "--tty", "--fifo-dir", e.node.FIFODir, "--exec-id", "eg-rec", ctr, "sh", "-c", script),
		"ready-for-input", keystrokes+"\r")
	if !strings.Contains(out, fmt.Sprintf("got-%d-chars", len(keystrokes))) {
		t.Fatalf("the session did not read the keystrokes:\n%s", out)
	}
	docs = e.since(mark)
	execs := filter(docs, "event", "exec", ctr)
	if len(execs) != 1 {
		t.Fatalf("got %d exec events, want 1:\n%v", len(execs), docs)
	}
	start := execs[0]
	check(t, "recorded exec", start, []expectation{{"execguard.recorded", true}, {"execguard.exec_id", "eg-rec"}})
	end := endOf(t, docs, start)
	outs := filter(docs, "event", "text_output", ctr)
	if len(outs) == 0 {
		t.Fatalf("no text_output documents:\n%v", docs)
	}
	text, captured, skipped, exceeded := joinOutput(t, outs)
	for _, d := range outs {
		check(t, "text_output", d, []expectation{
			{"process.io.type", "tty"},
			{"process.entity_id", start.str("process.entity_id")},
			{"process.entry_leader.entity_id", start.str("process.entity_id")},
			{"process.entry_leader.start", start.str("@timestamp")},
			{"process.session_leader.entity_id", start.str("process.entity_id")},
			{"process.entry_leader.entry_meta.type", "container"},
			{"process.start", start.str("@timestamp")},
			{"process.interactive", true},
			{"process.tty.char_device.major", 136},
			{"execguard.exec_id", "eg-rec"},
			{"container.id", ctr},
			{"orchestrator.namespace", "shop"},
			{"agent.name", "execguard-shim"},
		})
		pid, _ := d.get("process.pid")
		endPID, _ := end.get("process.pid")
		if pid == nil || pid != endPID {
			t.Errorf("text_output process.pid %v, want the process's %v", pid, endPID)
		}
		if d.str("@timestamp") < start.str("@timestamp") {
			t.Errorf("text_output at %s, before its session's start %s", d.str("@timestamp"), start.str("@timestamp"))
		}
	}
	for _, want := range []string{"visible-line\r\n", "token=[REDACTED]\r\n", "ready-for-input\r\n", fmt.Sprintf("got-%d-chars", len(keystrokes))} {
		if !strings.Contains(text, want) {
			t.Errorf("recorded text lacks %q:\n%q", want, text)
		}
	}
	for _, absent := range []string{"hunter2", keystrokes} {
		if strings.Contains(text, absent) {
			t.Errorf("recorded text holds %q:\n%q", absent, text)
		}
	}
	// Redaction replaced 7 bytes by 10; nothing was skipped.
	if captured != int64(len(text)-len(detect_Redacted)+len("hunter2")) || skipped != 0 || exceeded {
		t.Errorf("counters: captured %d skipped %d exceeded %v for %d bytes of text", captured, skipped, exceeded, len(text))
	}

	// The cast: root's alone, and it plays the recorded text.
	casts, _ := filepath.Glob(filepath.Join(castDir, "eg-rec+"+ctr+"+*.cast"))
	if len(casts) != 1 {
		t.Fatalf("casts %v, want one for eg-rec", casts)
	}
	for path, want := range map[string]os.FileMode{castDir: 0o700, casts[0]: 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, want)
		}
	}
	replay := exec.Command(bin, "replay", "--config", e.configPath, "--speed", "50", "eg-rec")
	replay.Stderr = os.Stderr
	played, err := replay.Output()
	if err != nil || string(played) != text {
		t.Errorf("execguard replay eg-rec: %v\nplayed %q\nwant   %q", err, played, text)
	}
	asciinema, err := exec.LookPath("asciinema")
	if err != nil {
		t.Fatalf("e2e prerequisite missing: asciinema (test/setup-node.sh installs it)")
	}
	cmd := exec.Command(asciinema, "play", "-s", "50", casts[0])
	played, err = cmd.Output()
	if err != nil || !bytes.Contains(played, []byte("visible-line")) || !bytes.Contains(played, []byte(fmt.Sprintf("got-%d-chars", len(keystrokes)))) {
		t.Errorf("asciinema play: %v\n%q", err, played)
	}

	// The cap: the output past tty_record_max_bytes is counted, not kept.
	var full strings.Builder
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&full, "line-%d-xxxxxxxxxxxxxxxxxxxxxxxx\r\n", i)
	}
	mark = e.mark()
	if out, err := e.node.CtrExecTTY(ctr, "eg-cap", "sh", "-c", `i=0; while [ $i -lt 400 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done`); err != nil {
		t.Fatalf("ctr task exec --tty: %v\n%s", err, tail(out, 5))
	}
	outs = filter(e.since(mark), "event", "text_output", ctr)
	text, captured, skipped, exceeded = joinOutput(t, outs)
	if text != full.String()[:recordCap] || captured != recordCap || skipped != int64(full.Len()-recordCap) || !exceeded {
		t.Errorf("capped session: %d bytes of text, captured %d, skipped %d, exceeded %v; want the first %d of %d bytes, the rest skipped",
			len(text), captured, skipped, exceeded, recordCap, full.Len())
	}

	// Through CRI (crictl exec -it, as kubectl exec -it), the same.
	mark = e.mark()
	if out, err := e.node.ExecTTY(ctr, "sh", "-c", "echo via-cri PASSWORD=swordfish"); err != nil || !strings.Contains(out, "via-cri") {
		t.Fatalf("crictl exec -it: %v\n%s", err, out)
	}
	docs = e.since(mark)
	execs = filter(docs, "event", "exec", ctr)
	outs = filter(docs, "event", "text_output", ctr)
	if text, _, _, _ := joinOutput(t, outs); len(execs) != 1 || text != "via-cri PASSWORD=[REDACTED]\r\n" || outs[0].str("process.entity_id") != execs[0].str("process.entity_id") {
		t.Errorf("crictl exec -it: %d exec events, output %q (want the echo, redacted, in the exec's session)", len(execs), text)
	}

	// A recording that cannot be set up: the fail mode decides.
	if err := os.Rename(castDir, castDir+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(castDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	mark = e.mark()
	if out, err := e.node.CtrExecTTY(ctr, "eg-open", "sh", "-c", "echo ran-open"); err != nil || !strings.Contains(out, "ran-open") {
		t.Errorf("fail mode open: the exec did not run unrecorded: %v\n%s", err, out)
	}
	writeRecordConfig(t, e, policyPath, "closed")
	out, err = e.node.CtrExecTTY(ctr, "eg-closed", "sh", "-c", "echo ran-closed")
	if err == nil || strings.Contains(out, "ran-closed") || !strings.Contains(out, "recorded") {
		t.Errorf("fail mode closed: the exec was not refused for its recording: %v\n%s", err, out)
	}
	docs = e.since(mark)
	execs = filter(docs, "event", "exec", ctr)
	if len(execs) != 2 {
		t.Fatalf("got %d exec events, want 2:\n%v", len(execs), docs)
	}
	for i, want := range []string{"success", "failure"} {
		if execs[i].str("event.outcome") != want || !strings.Contains(execs[i].str("error.message"), "terminal recording") {
			t.Errorf("exec %s: outcome %s error %q, want %s and the recording's failure", execs[i].str("execguard.exec_id"), execs[i].str("event.outcome"), execs[i].str("error.message"), want)
		}
	}
	if outs := filter(docs, "event", "text_output", ctr); len(outs) != 0 {
		t.Errorf("output recorded though its recording failed: %v", outs)
	}
}

// detect_Redacted is what redaction leaves of a secret.
const detect_Redacted = "[REDACTED]"

func writeRecordConfig(t *testing.T, e *env, policyPath, failMode string) {
	t.Helper()
	cfg := fmt.Sprintf("event_log = %q\nstate_dir = %q\nfail_mode = %q\npolicy = %q\ntty_record_max_bytes = %d\n\n[runtimes]\nrunc = %q\n",
		e.eventLog, filepath.Join(e.dir, "state"), failMode, policyPath, recordCap, realRunc)
	replaceFile(t, e.configPath, cfg)
}

// joinOutput joins a session's text_output documents in order and adds up
// their counters.
func joinOutput(t *testing.T, outs []doc) (text string, captured, skipped int64, exceeded bool) {
	t.Helper()
	var b strings.Builder
	for _, d := range outs {
		b.WriteString(d.str("process.io.text"))
		c, _ := d.get("process.io.total_bytes_captured")
		s, _ := d.get("process.io.total_bytes_skipped")
		x, _ := d.get("process.io.max_bytes_per_process_exceeded")
		cf, ok1 := c.(float64)
		sf, ok2 := s.(float64)
		xb, ok3 := x.(bool)
		if !ok1 || !ok2 || !ok3 {
			t.Errorf("text_output counters missing: %s", d)
		}
		captured += int64(cf)
		skipped += int64(sf)
		exceeded = exceeded || xb
	}
	return b.String(), captured, skipped, exceeded
}

// typeInto runs argv under script, as a person at a terminal: once the
// terminal shows prompt, it types input. It returns what the terminal
// showed.
func typeInto(t *testing.T, n *node.Node, argv []string, prompt, input string) string {
	t.Helper()
	scriptPath, err := exec.LookPath("script")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptPath, "-qec", node.ShellQuote(argv...), "/dev/null")
	cmd.Env = append(os.Environ(), "SHELL=/bin/sh", "TERM=xterm")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var mu sync.Mutex
	var shown bytes.Buffer
	seen := make(chan struct{})
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 4096)
		once := false
		for {
			k, err := r.Read(buf)
			mu.Lock()
			shown.Write(buf[:k])
			if !once && strings.Contains(shown.String(), prompt) {
				once = true
				close(seen)
			}
			mu.Unlock()
			if err != nil {
				if err != io.EOF {
					t.Errorf("read the terminal: %v", err)
				}
				return
			}
		}
	}()
	select {
	case <-seen:
		if _, err := io.WriteString(stdin, input); err != nil {
			t.Errorf("type: %v", err)
		}
	case <-copied:
	case <-ctx.Done():
	}
	err = cmd.Wait()
	<-copied
	r.Close()
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, shown.String())
	}
	return shown.String()
}

// TestWrapperTerminalRecordingFailMode: the runtime wrapper cannot record a
// terminal, so a terminal exec the policy wants recorded is the fail
// mode's: refused in closed, run unrecorded in open, the reason in the
// event either way.
func TestWrapperTerminalRecordingFailMode(t *testing.T) {
	pe := newPolicyFrontEnv(t, "closed", recordPolicy, frontWrapper)
	_, ctr := pe.startPod("rec", "shop", "app")
	mark := pe.mark()
	out, err := pe.node.ExecTTY(ctr, "sh", "-c", "echo ran-closed")
	if err == nil || strings.Contains(out, "ran-closed") || !strings.Contains(out, "requires its terminal to be recorded") {
		t.Errorf("fail mode closed: %v\n%s", err, out)
	}
	cfg := fmt.Sprintf("event_log = %q\nstate_dir = %q\nfail_mode = \"open\"\npolicy = %q\n\n[runtimes]\nrunc = %q\n",
		pe.eventLog, pe.stateDir, pe.policyPath, realRunc)
	replaceFile(t, pe.configPath, cfg)
	if out, err := pe.node.ExecTTY(ctr, "sh", "-c", "echo ran-open"); err != nil || !strings.Contains(out, "ran-open") {
		t.Errorf("fail mode open: %v\n%s", err, out)
	}
	docs := pe.since(mark)
	execs := filter(docs, "event", "exec", ctr)
	if len(execs) != 2 {
		t.Fatalf("got %d exec events, want 2:\n%v", len(execs), docs)
	}
	for i, want := range []string{"failure", "success"} {
		if execs[i].str("event.outcome") != want || !strings.Contains(execs[i].str("error.message"), "this front cannot record") {
			t.Errorf("exec %d: outcome %s error %q, want %s and why it was not recorded", i, execs[i].str("event.outcome"), execs[i].str("error.message"), want)
		}
		if _, ok := execs[i].get("execguard.recorded"); ok {
			t.Errorf("exec %d says execguard.recorded", i)
		}
	}
	if outs := filter(docs, "event", "text_output", ctr); len(outs) != 0 {
		t.Errorf("the wrapper wrote output documents: %v", outs)
	}
}
