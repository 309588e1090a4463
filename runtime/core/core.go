// Package core decides and records one process start for every execguard
// front (the runtime wrapper, the containerd shim): the detection rules and
// the policy decide, the coverage mark is written for a container start, the
// event is redacted, encoded and written (spooled when the log cannot take
// it), and an interactive exec whose event is lost is refused in fail mode
// closed. Gathering the facts and telling the caller about a refusal stay
// with each front.
package core

import (
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
}

// Result is what was decided and where its event went.
type Result struct {
	Record   detect.Record
	Decision detect.Decision
	// Outcome says where the event went; WriteErr why not to the log, or
	// (written) what is wrong with the log's directory.
	Outcome  eventlog.Outcome
	WriteErr error
}

// Decide decides in's process start, records it and reports the decision:
// Decision.Block with Decision.Reason when the start must be refused.
func Decide(in Input) Result {
	f, cfg := in.Facts, in.Config
	f.Cluster = detect.Cluster{ID: cfg.ClusterID, Name: cfg.ClusterName}
	policy := cfg.Policy()
	if in.ConfigErr != nil {
		policy.Err = in.ConfigErr.Error()
		f.AddProblem("%v", in.ConfigErr)
	}
	d := Evaluate(&f, cfg, &policy, in.Sources)
	rec := detect.Record{Facts: f, Decision: d, Policy: policy, Host: in.Sources.Host(), Time: time.Now(), Agent: in.Agent}
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
	res := Result{Outcome: eventlog.Lost}
	buf, err := detect.Encode(rec)
	if err == nil {
		res.Outcome, err = eventlog.Log{Path: cfg.EventLog, StateDir: cfg.StateDir, LockWait: in.LockWait}.Write(buf)
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
