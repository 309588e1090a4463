package eventview

import (
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fatih/color"
)

// TimeFormat is how a line shows @timestamp: UTC, to the millisecond.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Printer writes one line per event:
//
//	TIME SEVERITY WHAT (namespace=NS pod=POD container=C image=IMG command="..." tty=BOOL user=UID k8s_user=NAME decision=D)
//
// in the manner of Falco's output. Every value is escaped (Escape); with
// colour, the severity, the alert's summary and a block stand out.
type Printer struct {
	w                         io.Writer
	high, medium, notice, hot *color.Color
	bold                      *color.Color
}

// NewPrinter prints to w, in colour when colour is true (the caller
// decides: a terminal, --color).
func NewPrinter(w io.Writer, colour bool) *Printer {
	p := &Printer{
		w:      w,
		high:   color.New(color.FgRed, color.Bold),
		medium: color.New(color.FgYellow),
		notice: color.New(color.FgCyan),
		hot:    color.New(color.FgRed),
		bold:   color.New(color.Bold),
	}
	for _, c := range []*color.Color{p.high, p.medium, p.notice, p.hot, p.bold} {
		if colour {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}
	return p
}

// Line renders the event as Print writes it, without the newline.
func (p *Printer) Line(e Event) string {
	var b strings.Builder
	b.WriteString(e.Time.UTC().Format(TimeFormat))
	b.WriteByte(' ')
	sev := e.Severity()
	label := capitalise(Escape(sev))
	b.WriteString(paint(p.severityColour(sev), label))
	b.WriteString(strings.Repeat(" ", max(1, 9-len(label))))
	summary := Escape(e.Summary())
	if e.Kind() == "alert" {
		summary = paint(p.bold, summary)
	}
	b.WriteString(summary)
	b.WriteString(" (")
	n := 0
	field := func(key, value string) {
		if value == "" {
			return
		}
		if n > 0 {
			b.WriteByte(' ')
		}
		n++
		b.WriteString(key)
		b.WriteByte('=')
		b.WriteString(quote(Escape(value)))
	}
	field("namespace", e.Namespace())
	field("pod", e.Pod())
	field("container", e.containerShown())
	field("image", e.Image())
	field("command", e.Command())
	if tty, ok := e.TTY(); ok {
		field("tty", boolString(tty))
	}
	if e.Stdin() == "attached" {
		field("stdin", "attached")
	}
	if pr := e.doc.Process; pr != nil && pr.User != nil {
		field("user", pr.User.ID)
	}
	field("k8s_user", e.KubernetesUser())
	if pr := e.doc.Process; pr != nil && pr.ExitCode != nil && e.doc.Event.Action == "end" {
		field("exit", strconv.FormatInt(*pr.ExitCode, 10))
	}
	if d := e.Decision(); d == "block" {
		if n > 0 {
			b.WriteByte(' ')
		}
		n++
		b.WriteString(paint(p.hot, "decision=block"))
	} else {
		field("decision", d)
	}
	if e.doc.Process == nil {
		field("reason", e.Reason())
	}
	if e.doc.Error != nil {
		field("error", e.doc.Error.Message)
	}
	field("policy_error", e.doc.Execguard.PolicyError)
	b.WriteByte(')')
	return b.String()
}

// Print writes the event's line.
func (p *Printer) Print(e Event) error {
	_, err := io.WriteString(p.w, p.Line(e)+"\n")
	return err
}

// severityColour is nil for a severity shown plain.
func (p *Printer) severityColour(sev string) *color.Color {
	switch sev {
	case "critical", "high":
		return p.high
	case "medium", "warning":
		return p.medium
	case "notice":
		return p.notice
	}
	return nil
}

func paint(c *color.Color, s string) string {
	if c == nil {
		return s
	}
	return c.Sprint(s)
}

// quote puts a value in double quotes when it has a space, a quote or an
// equals sign, or is empty, so that key=value pairs stay apart.
func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \"=()") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

func capitalise(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
