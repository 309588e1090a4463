// Package ocispec decodes the parts of OCI runtime specs that execguard
// decides on: an exec's process spec (runc/crun exec --process, a shim's
// Exec request) and a bundle's config.json (its process and annotations).
//
// Two rules make it safe against whoever writes the spec:
//   - No size limit decides. The document is read as a stream and whatever
//     is not needed is skipped however large it is; only what is kept is
//     bounded (MaxKept), and a spec over that bound is an error, never a
//     spec without a terminal.
//   - One spec means one thing to every runtime. Go's decoder (runc) matches
//     keys without regard to case and keeps the last duplicate; crun's
//     parser is case-sensitive. A deciding key that appears twice, or in
//     another case, is refused (ErrAmbiguous).
package ocispec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// MaxKept bounds the bytes of arguments, environment and annotations kept
// from one spec. Kubernetes objects are at most a few MiB; the runtimes'
// own ttrpc limit on an exec is 4 MiB.
const MaxKept = 64 << 20

// Process is what a decision reads of an OCI process.
type Process struct {
	Terminal bool
	Args     []string
	Env      []string
	Cwd      string
	UID, GID uint32
	// Username is user.username; ConsoleHeight and ConsoleWidth are
	// consoleSize, the terminal's rows and columns. Events show them.
	Username                    string
	ConsoleHeight, ConsoleWidth uint32
}

// Config is what a decision reads of a bundle's config.json. Process is nil
// when the document has none.
type Config struct {
	Process     *Process
	Annotations map[string]string
}

var (
	// ErrAmbiguous: a deciding key appears twice or in another case, so
	// runtimes could read the spec differently.
	ErrAmbiguous = errors.New("ambiguous spec")
	// ErrTooLarge: what a decision keeps is over MaxKept.
	ErrTooLarge = errors.New("spec too large")
	// ErrMalformed: the document is not a spec Go's decoder reads (a
	// syntax error, a cut, a field of the wrong type, data after it). crun's
	// parser reads some of these (comments), so a runtime may run what the
	// wrapper could not read.
	ErrMalformed = errors.New("malformed spec")
)

// malformedError marks an error of the document's own as ErrMalformed,
// keeping its message.
type malformedError struct{ err error }

func (e malformedError) Error() string        { return e.err.Error() }
func (e malformedError) Unwrap() error        { return e.err }
func (e malformedError) Is(target error) bool { return target == ErrMalformed }

// DecodeProcess reads a process spec (an exec's process.json).
func DecodeProcess(r io.Reader) (Process, error) {
	d := newDecoder(r)
	var p Process
	present, err := d.objectOrNull("process", d.processFields(&p))
	if err == nil && !present {
		err = errors.New("process: null, want an object")
	}
	if err == nil {
		err = d.end()
	}
	return p, malformed(err)
}

// DecodeConfig reads a bundle's config.json.
func DecodeConfig(r io.Reader) (Config, error) {
	d := newDecoder(r)
	var c Config
	present, err := d.objectOrNull("config", []field{
		{"process", func() error {
			p := &Process{}
			present, err := d.objectOrNull("process", d.processFields(p))
			if present {
				c.Process = p
			}
			return err
		}},
		{"annotations", func() error { return d.annotations(&c.Annotations) }},
	})
	if err == nil && !present {
		err = errors.New("config: null, want an object")
	}
	if err == nil {
		err = d.end()
	}
	return c, malformed(err)
}

func (d *decoder) processFields(p *Process) []field {
	return []field{
		{"terminal", func() error { return d.bool(&p.Terminal) }},
		{"args", func() error { return d.strings(&p.Args) }},
		{"env", func() error { return d.strings(&p.Env) }},
		{"cwd", func() error { return d.string(&p.Cwd) }},
		{"user", func() error { return d.user(p) }},
		{"consoleSize", func() error { return d.consoleSize(p) }},
	}
}

// malformed says so of an error that comes from the document itself: all
// but reading errors and the ambiguous and too-large ones.
func malformed(err error) error {
	var se *jsontext.SyntacticError
	var pe *fs.PathError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrAmbiguous) || errors.Is(err, ErrTooLarge) || errors.As(err, &pe):
		return err
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return malformedError{fmt.Errorf("malformed JSON, cut short: %w", err)}
	case errors.As(err, &se):
		return malformedError{fmt.Errorf("malformed JSON at byte %d: %w", se.ByteOffset, err)}
	}
	return malformedError{err}
}

type decoder struct {
	dec  *jsontext.Decoder
	kept int
}

func newDecoder(r io.Reader) *decoder {
	return &decoder{dec: jsontext.NewDecoder(r,
		// As Go's decoder (runc's): invalid UTF-8 in a string reads as
		// U+FFFD, and a key twice is no syntax error. Keys that decide are
		// checked for duplicates here; the others are runc's business.
		jsontext.AllowInvalidUTF8(true),
		jsontext.AllowDuplicateNames(true),
	)}
}

// field is a known key of an object and what reads its value.
type field struct {
	name string
	read func() error
}

// object reads a JSON object, handing the values of the known keys to
// their functions and skipping the others. A known key in another case, or
// twice, is ErrAmbiguous. A null is an absent object (present false).
func (d *decoder) object(what string, fields []field) error {
	_, err := d.objectOrNull(what, fields)
	return err
}

func (d *decoder) objectOrNull(what string, fields []field) (present bool, err error) {
	t, err := d.dec.ReadToken()
	if err != nil {
		return false, d.wrap(what, err)
	}
	switch t.Kind() {
	case 'n':
		return false, nil
	case '{':
		return true, d.members(what, fields)
	}
	return false, fmt.Errorf("%s: want an object, found %s", what, describe(t.Kind()))
}

func (d *decoder) members(what string, fields []field) error {
	var seen uint64 // bit i: fields[i] read; objects here have a few known keys
	for d.more() {
		t, err := d.dec.ReadToken()
		if err != nil {
			return d.wrap(what, err)
		}
		i, exact := knownAs(t.String(), fields)
		if i < 0 {
			if err := d.dec.SkipValue(); err != nil {
				return d.wrap(what, err)
			}
			continue
		}
		name := fields[i].name
		if !exact {
			return fmt.Errorf("%s: key %q: %w: runtimes disagree on keys in another case than %q", what, t.String(), ErrAmbiguous, name)
		}
		if seen&(1<<i) != 0 {
			return fmt.Errorf("%s: key %q twice: %w: runtimes disagree on which one counts", what, name, ErrAmbiguous)
		}
		seen |= 1 << i
		if err := fields[i].read(); err != nil {
			return fmt.Errorf("%s.%s: %w", what, name, err)
		}
	}
	_, err := d.dec.ReadToken() // '}'
	return d.wrap(what, err)
}

// more says whether the object or array being read has another member:
// false at its end, and at an error, which the next read reports.
func (d *decoder) more() bool {
	k := d.dec.PeekKind()
	return k != '}' && k != ']' && k != 0
}

// knownAs is the index of the field that key stands for to Go's decoder,
// which matches without regard to case, Unicode's folds included (the
// Kelvin sign for k, the long s for s), and whether key is its name as
// written; -1 when none.
func knownAs(key string, fields []field) (int, bool) {
	for i, f := range fields {
		if key == f.name {
			return i, true
		}
	}
	for i, f := range fields {
		if strings.EqualFold(key, f.name) {
			return i, false
		}
	}
	return -1, false
}

func (d *decoder) bool(v *bool) error {
	t, err := d.dec.ReadToken()
	if err != nil {
		return err
	}
	switch t.Kind() {
	case 't', 'f':
		*v = t.Bool()
	case 'n':
		*v = false
	default:
		return fmt.Errorf("want true or false, found %s", describe(t.Kind()))
	}
	return nil
}

func (d *decoder) string(v *string) error {
	t, err := d.dec.ReadToken()
	if err != nil {
		return err
	}
	switch t.Kind() {
	case '"':
		s := t.String()
		if err := d.keep(len(s)); err != nil {
			return err
		}
		*v = s
	case 'n':
	default:
		return fmt.Errorf("want a string, found %s", describe(t.Kind()))
	}
	return nil
}

func (d *decoder) strings(v *[]string) error {
	t, err := d.dec.ReadToken()
	if err != nil {
		return err
	}
	switch t.Kind() {
	case 'n':
		return nil
	case '[':
	default:
		return fmt.Errorf("want an array of strings, found %s", describe(t.Kind()))
	}
	out := []string{} // as Go's decoder: [] is empty, not absent
	for d.more() {
		t, err := d.dec.ReadToken()
		if err != nil {
			return err
		}
		if t.Kind() != '"' {
			return fmt.Errorf("element %d: want a string, found %s", len(out), describe(t.Kind()))
		}
		s := t.String()
		if err := d.keep(len(s)); err != nil {
			return err
		}
		out = append(out, s)
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return err
	}
	*v = out
	return nil
}

func (d *decoder) user(p *Process) error {
	return d.object("user", []field{
		{"uid", func() error { return d.uint32(&p.UID) }},
		{"gid", func() error { return d.uint32(&p.GID) }},
		{"username", func() error { return d.string(&p.Username) }},
	})
}

func (d *decoder) consoleSize(p *Process) error {
	return d.object("consoleSize", []field{
		{"height", func() error { return d.uint32(&p.ConsoleHeight) }},
		{"width", func() error { return d.uint32(&p.ConsoleWidth) }},
	})
}

func (d *decoder) uint32(v *uint32) error {
	t, err := d.dec.ReadToken()
	if err != nil {
		return err
	}
	if t.Kind() != '0' {
		return fmt.Errorf("want a number, found %s", describe(t.Kind()))
	}
	// A number token's String is its text; JSON's grammar leaves only
	// digits, a sign, a fraction and an exponent to refuse.
	n := t.String()
	u, err := strconv.ParseUint(n, 10, 32)
	if err != nil {
		return fmt.Errorf("%s is not a 32-bit unsigned id", n)
	}
	*v = uint32(u)
	return nil
}

func (d *decoder) annotations(v *map[string]string) error {
	t, err := d.dec.ReadToken()
	if err != nil {
		return err
	}
	switch t.Kind() {
	case 'n':
		return nil
	case '{':
	default:
		return fmt.Errorf("want an object, found %s", describe(t.Kind()))
	}
	out := map[string]string{}
	for d.more() {
		kt, err := d.dec.ReadToken()
		if err != nil {
			return err
		}
		key := kt.String()
		var val string
		if err := d.string(&val); err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
		if _, dup := out[key]; dup {
			return fmt.Errorf("%q twice: %w", key, ErrAmbiguous)
		}
		if err := d.keep(len(key)); err != nil {
			return err
		}
		out[key] = val
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return err
	}
	*v = out
	return nil
}

// keep counts n bytes kept against MaxKept.
func (d *decoder) keep(n int) error {
	d.kept += n
	if d.kept > MaxKept {
		return fmt.Errorf("%w: over %d bytes of arguments, environment and annotations", ErrTooLarge, MaxKept)
	}
	return nil
}

// end checks that nothing but white space follows the document.
func (d *decoder) end() error {
	if _, err := d.dec.ReadToken(); err != io.EOF {
		if err == nil {
			return errors.New("data after the end of the document")
		}
		return err
	}
	return nil
}

func (d *decoder) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%s: %w", what, err)
}

func describe(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 't':
		return "true"
	case 'f':
		return "false"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{', '}', '[', ']':
		return string(k)
	}
	return fmt.Sprintf("token %v", k)
}
