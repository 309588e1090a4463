// Package core decides and records one process start for every execguard
// front (the runtime wrapper, the containerd shim): the detection rules and
// the policy decide, the coverage mark is written for a container start, the
// event is redacted, encoded and written (spooled when the log cannot take
// it), and an interactive exec whose event is lost is refused in fail mode
// closed. Gathering the facts and telling the caller about a refusal stay
// with each front.
package core

import (
	"errors"
	"fmt"
	"time"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/eventlog"
	"github.com/execguard/execguard/state"
)

// MaxSpecBytes bounds what a front reads of small files the engine writes
// for it (the runtime's state, runtime options); never of a spec, which
// package ocispec reads whole.
const MaxSpecBytes = 4 << 20

// LostReason and LostStdinShellReason refuse an interactive exec, or a shell
// on an attached stdin, whose event could not be recorded in fail mode
// closed.
const (
	LostReason           = "execguard: interactive exec refused: its event could not be recorded and fail mode is closed"
	LostStdinShellReason = "execguard: shell with attached stdin refused: its event could not be recorded and fail mode is closed"
)

// Input is one process start to decide and record.
type Input struct {
	Facts detect.Facts
	// Config is the configuration in force; ConfigErr says why it is not
	// (entirely) the configured one.
	Config    config.Config
	ConfigErr error
	// Sources load the policy file and the detection rules.
	Sources Sources
	// Agent names the writer (agent.name); "" is the wrapper.
	Agent string
	// LockWait bounds the wait for the event log's lock (0: no bound).
	LockWait time.Duration
	// WritesEnds: the front writes the end events of the processes it
	// starts, so the container's coverage mark tells the NRI plugin to
	// write none.
	WritesEnds bool
	// Record sets up the recording of a terminal exec's output when the
	// policy asks for it, before the event is written; nil: the front
	// cannot record, and the fail mode decides such an exec.
	Record func(rec detect.Record) error
	// Hold leaves the documents of an allowed start unwritten, in
	// Result.Held, for a front that learns the process's pid once it has
	// started. A start whose lost document would be refused under fail
	// mode closed is written at once, as without Hold.
	Hold bool
}

// ErrCannotRecord is why a front without a Record hook cannot record.
var ErrCannotRecord = errors.New("this front cannot record terminal output (execguard's containerd shim records it)")

// Result is what was decided and where its event went.
type Result struct {
	Record   detect.Record
	Decision detect.Decision
	// Outcome says where the event went; WriteErr why not to the log, or
	// (written) what is wrong with the log's directory.
	Outcome  eventlog.Outcome
	WriteErr error
	// Held is the documents Input.Hold kept back (Outcome is then
	// Written, for the front's Write to change), nil when written.
	Held *Held
}

// Held is a decided start's documents, written by Write.
type Held struct {
	rec detect.Record
	log eventlog.Log
}

// Write encodes and writes the held documents, with the process's pid
// when it is not 0. The result's Diagnostic takes StateDir.
func (h *Held) Write(pid uint32) Result {
	rec := h.rec
	rec.Facts.Process.PID = pid
	res := Result{Record: rec, Decision: rec.Decision, Outcome: eventlog.Lost}
	buf, err := detect.Encode(rec)
	if err == nil {
		res.Outcome, err = h.log.Write(buf)
	}
	res.WriteErr = err
	return res
}

// Terminal reports whether the held start is of a process with a terminal,
// whose device the front may read once it runs (SetTTY).
func (h *Held) Terminal() bool { return h.rec.Facts.Process.Terminal }

// TTYKnown reports whether SetTTY named the held process's terminal.
func (h *Held) TTYKnown() bool { return h.rec.Facts.Process.TTY != nil }

// SetTTY names the held process's terminal device (process.tty).
func (h *Held) SetTTY(major, minor uint32) {
	h.rec.Facts.Process.TTY = &detect.CharDevice{Major: major, Minor: minor}
}

// StateDir is where the held documents are spooled when the log cannot
// take them.
func (h *Held) StateDir() string { return h.log.StateDir }

// Decide decides in's process start, records it and reports the decision:
// Decision.Block with Decision.Reason when the start must be refused.
func Decide(in Input) Result {
	f, cfg := in.Facts, in.Config
	f.Cluster = detect.Cluster{ID: cfg.ClusterID, Name: cfg.ClusterName}
	f.Namespace = cfg.DataStreamNamespace
	policy := cfg.Policy()
	if in.ConfigErr != nil {
		policy.Err = in.ConfigErr.Error()
		f.AddProblem("%v", in.ConfigErr)
	}
	// The node's name and id are read once, for the rules and the event.
	host := in.Sources.Host()
	d := Evaluate(&f, cfg, &policy, knownHost{in.Sources, host})
	rec := detect.Record{Facts: f, Decision: d, Policy: policy, Host: host, Time: time.Now(), Agent: in.Agent}
	if f.Operation == detect.OpContainerStart && !d.Block && f.Container.ID != "" {
		// The mark tells the NRI plugin this container's calls pass through
		// execguard (containers without one are reported as not covered),
		// and what its end event pairs with.
		mark := state.Mark{EntityID: detect.ProcessEntityID(rec), Time: detect.Timestamp(rec), Interactive: d.Interactive}
		if in.WritesEnds {
			mark.EndsBy = agentName(in.Agent)
		}
		if err := state.MarkCovered(cfg.StateDir, f.Container.ID, mark); err != nil {
			rec.Facts.AddProblem("coverage mark: %v", err)
		}
	}
	red, err := in.Sources.Redactor(cfg)
	if err != nil { // Load fell back to the default patterns; cannot fail twice
		rec.Facts.AddProblem("%v", err)
	}
	rec.Redactor = red
	if d.RecordsTerminal(f) {
		err := ErrCannotRecord
		if in.Record != nil {
			err = in.Record(rec)
		}
		if err != nil {
			d = recordFailed(rec.Facts, d, policy.FailMode, err)
			rec.Facts.AddProblem("terminal recording: %v", err)
			rec.Decision = d
		}
	}
	log := eventlog.Log{Path: cfg.EventLog, StateDir: cfg.StateDir, LockWait: in.LockWait}
	if in.Hold && !d.Block && !(policy.FailMode == detect.FailClosed && f.Operation == detect.OpExec && (d.Interactive || d.StdinShell)) {
		return Result{Record: rec, Decision: d, Outcome: eventlog.Written, Held: &Held{rec: rec, log: log}}
	}
	res := Result{Outcome: eventlog.Lost}
	buf, err := detect.Encode(rec)
	if err == nil {
		res.Outcome, err = log.Write(buf)
	}
	res.WriteErr = err
	if res.Outcome == eventlog.Lost && policy.FailMode == detect.FailClosed && f.Operation == detect.OpExec && (d.Interactive || d.StdinShell) && !d.Block {
		d.Block = true
		d.Reason = LostReason
		if d.StdinShell {
			d.Reason = LostStdinShellReason
		}
	}
	res.Record, res.Decision = rec, d
	return res
}

// recordFailed is the decision on a terminal exec whose recording the
// policy requires and that cannot be recorded: refused in fail mode closed,
// let run unrecorded in open.
func recordFailed(f detect.Facts, d detect.Decision, mode detect.FailMode, err error) detect.Decision {
	d.Record = false
	if mode != detect.FailClosed {
		return d
	}
	d.Alert, d.Block = true, true
	d.Action = detect.ActionBlock
	d.Reason = fmt.Sprintf("execguard: %s refused: the policy requires its terminal to be recorded, which failed (%v), and fail mode is closed", detect.DescribeCall(f, d.Interactive, d.StdinShell), err)
	return d
}

// knownHost are Sources whose host is already known.
type knownHost struct {
	Sources
	host detect.Host
}

func (k knownHost) Host() detect.Host { return k.host }

func agentName(a string) string {
	if a == "" {
		return "execguard-runtime"
	}
	return a
}

// Diagnostic describes where the event went when not to the log, or what
// is wrong with the log's directory, for the front's diagnostics; "" when
// it was written and nothing is.
func (r Result) Diagnostic(stateDir string) (level, msg string) {
	switch r.Outcome {
	case eventlog.Spooled:
		return "warning", fmt.Sprintf("event spooled under %s, to be appended to the log when it can be written: %v", stateDir, r.WriteErr)
	case eventlog.Lost:
		return "error", fmt.Sprintf("event lost: %v", r.WriteErr)
	}
	if r.WriteErr != nil { // written, in a directory someone else could change
		return "warning", r.WriteErr.Error()
	}
	return "", ""
}
