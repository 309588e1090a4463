package detect

import (
	"strconv"
	"strings"
)

// ActionTextOutput is the event.action of a recorded terminal's output, the
// documents Session View's terminal player reads.
const ActionTextOutput = "text_output"

// IOTypeTTY is process.io.type of terminal output.
const IOTypeTTY = "tty"

// TTY is a process's terminal: its character device and size.
type TTY struct {
	// Major and Minor are the device numbers of the terminal's slave side
	// (136 and N for /dev/pts/N); Known says they were read.
	Major, Minor uint32
	Known        bool
	// Rows and Columns are the terminal's size, 0 when unknown.
	Rows, Columns uint16
}

// Session is the recorded process: what each of its output documents says
// of it, the same identity its exec event carries, so that Session View
// files the output under the exec's session.
type Session struct {
	// EntityID and Start are the exec event's process.entity_id and
	// @timestamp.
	EntityID string
	Start    string
	PID      uint32
	// Args are the process's arguments, redacted.
	Args        []string
	Interactive bool
	UserID      string
	ExecID      string
	TTY         TTY
	Caller      Caller
}

// TextOutput is one piece of what a recorded terminal showed.
type TextOutput struct {
	// Lifecycle says which container and node; its Time is the document's
	// @timestamp.
	Lifecycle
	Session Session
	// Text is the output, redacted; Captured the bytes of output it stands
	// for, Skipped the bytes left out since the previous document (the
	// recording's buffer was full, or the session reached its cap).
	Text     string
	Captured int64
	Skipped  int64
	// Exceeded: the session reached its byte cap; later output is counted
	// in Skipped, not recorded.
	Exceeded bool
}

// textOutputDoc is the shared document with its own process object: the
// output's process carries the terminal and its io, which start events do
// not.
type textOutputDoc struct {
	*document
	Process *ioProcessDoc `json:"process"`
}

type ioProcessDoc struct {
	PID           uint32       `json:"pid,omitempty"`
	EntityID      string       `json:"entity_id"`
	Name          string       `json:"name,omitempty"`
	Executable    string       `json:"executable,omitempty"`
	Args          []string     `json:"args,omitempty"`
	Interactive   bool         `json:"interactive"`
	Start         string       `json:"start,omitempty"`
	User          *idDoc       `json:"user,omitempty"`
	TTY           *ttyDoc      `json:"tty,omitempty"`
	IO            ioDoc        `json:"io"`
	EntryLeader   *ioLeaderDoc `json:"entry_leader"`
	SessionLeader *ioLeaderDoc `json:"session_leader"`
	GroupLeader   *ioLeaderDoc `json:"group_leader"`
	Parent        *parentDoc   `json:"parent,omitempty"`
}

type ioLeaderDoc struct {
	EntityID      string        `json:"entity_id"`
	PID           uint32        `json:"pid,omitempty"`
	Name          string        `json:"name,omitempty"`
	Start         string        `json:"start,omitempty"`
	Interactive   bool          `json:"interactive"`
	SameAsProcess bool          `json:"same_as_process"`
	EntryMeta     *entryMetaDoc `json:"entry_meta,omitempty"`
}

type ioDoc struct {
	Type                       string `json:"type"`
	Text                       string `json:"text"`
	TotalBytesCaptured         int64  `json:"total_bytes_captured"`
	TotalBytesSkipped          int64  `json:"total_bytes_skipped"`
	MaxBytesPerProcessExceeded bool   `json:"max_bytes_per_process_exceeded"`
}

// EncodeTextOutput renders one output document as one NDJSON line.
func EncodeTextOutput(t TextOutput) ([]byte, error) {
	d := t.Lifecycle.document("event", ActionTextOutput)
	d.Event.Type = []string{"info"}
	// Several documents of a session may share a container and a time of
	// day in coarse clocks: the entity id and the sequence of bytes tell
	// them apart.
	d.Event.ID = entityID(t.Host.ID, t.Container.ID, t.Session.ExecID, ActionTextOutput, strconv.FormatInt(t.Time.UnixNano(), 10), strconv.FormatInt(t.Captured+t.Skipped, 10))
	d.Execguard.ExecID = t.Session.ExecID
	d.Execguard.Operation = string(OpExec) // only execs are recorded
	s := t.Session
	p := &ioProcessDoc{
		PID:         s.PID,
		EntityID:    s.EntityID,
		Args:        s.Args,
		Interactive: s.Interactive,
		Start:       s.Start,
		IO: ioDoc{
			Type: IOTypeTTY, Text: t.Text,
			TotalBytesCaptured: t.Captured, TotalBytesSkipped: t.Skipped,
			MaxBytesPerProcessExceeded: t.Exceeded,
		},
	}
	if len(s.Args) > 0 {
		p.Name = baseName(s.Args[0])
		if strings.HasPrefix(s.Args[0], "/") {
			p.Executable = s.Args[0]
		}
	}
	if s.UserID != "" {
		p.User = &idDoc{ID: s.UserID}
	}
	if s.TTY.Known || s.TTY.Rows > 0 || s.TTY.Columns > 0 {
		p.TTY = &ttyDoc{Rows: uint32(s.TTY.Rows), Columns: uint32(s.TTY.Columns)}
		if s.TTY.Known {
			p.TTY.CharDevice = &charDeviceDoc{Major: s.TTY.Major, Minor: s.TTY.Minor}
		}
	}
	if s.Caller.PID != 0 || s.Caller.Name != "" {
		p.Parent = &parentDoc{PID: s.Caller.PID, Name: s.Caller.Name, Executable: s.Caller.Executable}
	}
	// The exec'd process leads its own session in the container, as its
	// exec event says.
	leader := ioLeaderDoc{EntityID: s.EntityID, PID: s.PID, Name: p.Name, Start: s.Start, Interactive: s.Interactive, SameAsProcess: true}
	entry := leader
	entry.EntryMeta = &entryMetaDoc{Type: "container"}
	p.EntryLeader, p.SessionLeader, p.GroupLeader = &entry, &leader, &leader
	doc := textOutputDoc{document: d, Process: p}
	shared, err := marshal(doc)
	if err != nil {
		return nil, err
	}
	event, err := marshal(&d.Event)
	if err != nil {
		return nil, err
	}
	stream, err := marshal(&d.DataStream)
	if err != nil {
		return nil, err
	}
	return escapeControls(appendLine(make([]byte, 0, len(shared)+len(event)+len(stream)+16), event, stream, "", shared[1:])), nil
}
