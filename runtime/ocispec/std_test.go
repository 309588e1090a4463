package ocispec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// stdDecodeProcess is DecodeProcess on encoding/json's tokenizer, as it
// was before jsontext: the reference the differential tests hold it to.
func stdDecodeProcess(r io.Reader) (Process, error) {
	d := stdNewDecoder(r)
	var p Process
	present, err := d.objectOrNull("process", map[string]func() error{
		"terminal":    func() error { return d.value(&p.Terminal) },
		"args":        func() error { return d.strings(&p.Args) },
		"env":         func() error { return d.strings(&p.Env) },
		"cwd":         func() error { return d.string(&p.Cwd) },
		"user":        func() error { return d.user(&p) },
		"consoleSize": func() error { return d.consoleSize(&p) },
	})
	if err == nil && !present {
		err = errors.New("process: null, want an object")
	}
	if err == nil {
		err = d.end()
	}
	return p, stdMalformed(err)
}

// stdDecodeConfig is DecodeConfig on encoding/json's tokenizer.
func stdDecodeConfig(r io.Reader) (Config, error) {
	d := stdNewDecoder(r)
	var c Config
	present, err := d.objectOrNull("config", map[string]func() error{
		"process": func() error {
			p := &Process{}
			present, err := d.objectOrNull("process", map[string]func() error{
				"terminal":    func() error { return d.value(&p.Terminal) },
				"args":        func() error { return d.strings(&p.Args) },
				"env":         func() error { return d.strings(&p.Env) },
				"cwd":         func() error { return d.string(&p.Cwd) },
				"user":        func() error { return d.user(p) },
				"consoleSize": func() error { return d.consoleSize(p) },
			})
			if present {
				c.Process = p
			}
			return err
		},
		"annotations": func() error { return d.annotations(&c.Annotations) },
	})
	if err == nil && !present {
		err = errors.New("config: null, want an object")
	}
	if err == nil {
		err = d.end()
	}
	return c, stdMalformed(err)
}

// stdMalformed says so of an error that comes from the document itself: all
// but reading errors and the ambiguous and too-large ones.
func stdMalformed(err error) error {
	var se *json.SyntaxError
	var pe *fs.PathError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return malformedError{fmt.Errorf("malformed JSON at byte %d: %w", se.Offset, err)}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return malformedError{fmt.Errorf("malformed JSON, cut short: %w", err)}
	case errors.Is(err, ErrAmbiguous) || errors.Is(err, ErrTooLarge) || errors.As(err, &pe):
		return err
	}
	return malformedError{err}
}

type stdDecoder struct {
	dec     *json.Decoder
	kept    int
	skipped json.RawMessage // reused by skip
}

func stdNewDecoder(r io.Reader) *stdDecoder {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return &stdDecoder{dec: dec}
}

// object reads a JSON object, handing the values of the known keys to
// their functions and skipping the others. A known key in another case, or
// twice, is ErrAmbiguous. A null is an absent object (present false).
func (d *stdDecoder) object(what string, known map[string]func() error) error {
	_, err := d.objectOrNull(what, known)
	return err
}

func (d *stdDecoder) objectOrNull(what string, known map[string]func() error) (present bool, err error) {
	t, err := d.dec.Token()
	if err != nil {
		return false, d.wrap(what, err)
	}
	if t == nil {
		return false, nil
	}
	if t != json.Delim('{') {
		return false, fmt.Errorf("%s: want an object, found %s", what, stdDescribe(t))
	}
	return true, d.members(what, known)
}

func (d *stdDecoder) members(what string, known map[string]func() error) error {
	seen := map[string]bool{}
	for d.dec.More() {
		t, err := d.dec.Token()
		if err != nil {
			return d.wrap(what, err)
		}
		key, _ := t.(string)
		if name := stdKnownAs(key, known); name != "" {
			if key != name {
				return fmt.Errorf("%s: key %q: %w: runtimes disagree on keys in another case than %q", what, key, ErrAmbiguous, name)
			}
			if seen[key] {
				return fmt.Errorf("%s: key %q twice: %w: runtimes disagree on which one counts", what, key, ErrAmbiguous)
			}
			seen[key] = true
			if err := known[key](); err != nil {
				return fmt.Errorf("%s.%s: %w", what, key, err)
			}
			continue
		}
		if err := d.skip(); err != nil {
			return d.wrap(what, err)
		}
	}
	_, err := d.dec.Token() // '}'
	return d.wrap(what, err)
}

// stdKnownAs is the known key that key stands for to Go's decoder, which
// matches without regard to case, Unicode's folds included (the Kelvin sign
// for k, the long s for s); "" when none.
func stdKnownAs(key string, known map[string]func() error) string {
	if _, ok := known[key]; ok {
		return key
	}
	for name := range known {
		if strings.EqualFold(key, name) {
			return name
		}
	}
	return ""
}

// skip consumes one value, keeping nothing. Go's scanner finds its end
// much faster than token by token; the bytes are held only until the next
// skip, as a runtime holds the whole document anyway.
func (d *stdDecoder) skip() error {
	return d.dec.Decode(&d.skipped)
}

func (d *stdDecoder) value(v *bool) error {
	t, err := d.dec.Token()
	if err != nil {
		return err
	}
	switch x := t.(type) {
	case bool:
		*v = x
	case nil:
		*v = false
	default:
		return fmt.Errorf("want true or false, found %s", stdDescribe(t))
	}
	return nil
}

func (d *stdDecoder) string(v *string) error {
	t, err := d.dec.Token()
	if err != nil {
		return err
	}
	switch x := t.(type) {
	case string:
		if err := d.keep(len(x)); err != nil {
			return err
		}
		*v = x
	case nil:
	default:
		return fmt.Errorf("want a string, found %s", stdDescribe(t))
	}
	return nil
}

func (d *stdDecoder) strings(v *[]string) error {
	t, err := d.dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	if t != json.Delim('[') {
		return fmt.Errorf("want an array of strings, found %s", stdDescribe(t))
	}
	out := []string{} // as Go's decoder: [] is empty, not absent
	for d.dec.More() {
		t, err := d.dec.Token()
		if err != nil {
			return err
		}
		s, ok := t.(string)
		if !ok {
			return fmt.Errorf("element %d: want a string, found %s", len(out), stdDescribe(t))
		}
		if err := d.keep(len(s)); err != nil {
			return err
		}
		out = append(out, s)
	}
	if _, err := d.dec.Token(); err != nil {
		return err
	}
	*v = out
	return nil
}

func (d *stdDecoder) user(p *Process) error {
	return d.object("user", map[string]func() error{
		"uid":      func() error { return d.uint32(&p.UID) },
		"gid":      func() error { return d.uint32(&p.GID) },
		"username": func() error { return d.string(&p.Username) },
	})
}

func (d *stdDecoder) consoleSize(p *Process) error {
	return d.object("consoleSize", map[string]func() error{
		"height": func() error { return d.uint32(&p.ConsoleHeight) },
		"width":  func() error { return d.uint32(&p.ConsoleWidth) },
	})
}

func (d *stdDecoder) uint32(v *uint32) error {
	t, err := d.dec.Token()
	if err != nil {
		return err
	}
	n, ok := t.(json.Number)
	if !ok {
		return fmt.Errorf("want a number, found %s", stdDescribe(t))
	}
	var u uint64
	if _, err := fmt.Sscan(n.String(), &u); err != nil || u > 1<<32-1 || strings.ContainsAny(n.String(), ".eE-") {
		return fmt.Errorf("%s is not a 32-bit unsigned id", n)
	}
	*v = uint32(u)
	return nil
}

func (d *stdDecoder) annotations(v *map[string]string) error {
	t, err := d.dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	if t != json.Delim('{') {
		return fmt.Errorf("want an object, found %s", stdDescribe(t))
	}
	out := map[string]string{}
	for d.dec.More() {
		kt, err := d.dec.Token()
		if err != nil {
			return err
		}
		key := kt.(string)
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
	if _, err := d.dec.Token(); err != nil {
		return err
	}
	*v = out
	return nil
}

// keep counts n bytes kept against MaxKept.
func (d *stdDecoder) keep(n int) error {
	d.kept += n
	if d.kept > MaxKept {
		return fmt.Errorf("%w: over %d bytes of arguments, environment and annotations", ErrTooLarge, MaxKept)
	}
	return nil
}

// end checks that nothing but white space follows the document.
func (d *stdDecoder) end() error {
	if _, err := d.dec.Token(); err != io.EOF {
		if err == nil {
			return errors.New("data after the end of the document")
		}
		return err
	}
	return nil
}

func (d *stdDecoder) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%s: %w", what, err)
}

func stdDescribe(t json.Token) string {
	switch x := t.(type) {
	case nil:
		return "null"
	case json.Delim:
		return string(x)
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("%T", t)
}
