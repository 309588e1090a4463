package state

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// decodeContainer reads a container record as json.Unmarshal does. The
// wrapper reads one on every decision, a fresh process each time, where
// encoding/json's first use (its decoder for the type, built by
// reflection) cost about 60 µs: a record as the plugin writes it (known
// keys as written, string values, labels an object of strings) is read
// token by token instead. Anything else, an error included, is left to
// json.Unmarshal, so both always agree (TestDecodeContainerSameAsJSON).
func decodeContainer(data []byte) (Container, error) {
	if c, ok := decodeRecordFast(data); ok {
		return c, nil
	}
	var c Container
	err := json.Unmarshal(data, &c)
	return c, err
}

// decodeRecordFast reads the plugin's own record shape; ok is false for
// anything json.Unmarshal might read differently.
func decodeRecordFast(data []byte) (c Container, ok bool) {
	d := jsontext.NewDecoder(bytes.NewReader(data),
		jsontext.AllowInvalidUTF8(true), // as json.Unmarshal: U+FFFD
		jsontext.AllowDuplicateNames(true))
	if t, err := d.ReadToken(); err != nil || t.Kind() != '{' {
		return c, false
	}
	fields := c.stringFields()
	var seen uint32
	for d.PeekKind() == '"' {
		key, err := d.ReadToken()
		if err != nil {
			return c, false
		}
		name := key.String()
		i := recordKey(name)
		switch {
		case i < 0 && foldsToRecordKey(name):
			return c, false // json.Unmarshal matches keys in any case
		case i < 0:
			if d.SkipValue() != nil {
				return c, false
			}
			continue
		case seen&(1<<i) != 0:
			return c, false // the last one counts, and labels merge
		}
		seen |= 1 << i
		if i == labelsKey {
			if c.PodLabels, ok = readLabels(d); !ok {
				return c, false
			}
			continue
		}
		v, err := d.ReadToken()
		if err != nil || v.Kind() != '"' {
			return c, false
		}
		*fields[i] = v.String()
	}
	if t, err := d.ReadToken(); err != nil || t.Kind() != '}' {
		return c, false
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return c, false // data after the record
	}
	return c, true
}

// recordKeys are the record's JSON keys, pod_labels last (labelsKey).
var recordKeys = [...]string{"id", "name", "sandbox_id", "pod_name", "pod_namespace", "pod_uid", "image", "image_digest", "runtime_handler", "pod_labels"}

const labelsKey = len(recordKeys) - 1

// stringFields are c's string fields in recordKeys' order.
func (c *Container) stringFields() [labelsKey]*string {
	return [...]*string{&c.ID, &c.Name, &c.SandboxID, &c.PodName, &c.PodNamespace, &c.PodUID, &c.Image, &c.ImageDigest, &c.RuntimeHandler}
}

func recordKey(name string) int {
	for i, k := range recordKeys {
		if name == k {
			return i
		}
	}
	return -1
}

// foldsToRecordKey: json.Unmarshal would take name for a known key in
// another case (Unicode's folds included: the Kelvin sign for k, the long
// s for s).
func foldsToRecordKey(name string) bool {
	for _, k := range recordKeys {
		if strings.EqualFold(name, k) {
			return true
		}
	}
	return false
}

func readLabels(d *jsontext.Decoder) (map[string]string, bool) {
	if t, err := d.ReadToken(); err != nil || t.Kind() != '{' {
		return nil, false
	}
	labels := map[string]string{}
	for d.PeekKind() == '"' {
		k, err := d.ReadToken()
		if err != nil {
			return nil, false
		}
		key := k.String() // a token lasts until the next read
		v, err := d.ReadToken()
		if err != nil || v.Kind() != '"' {
			return nil, false
		}
		labels[key] = v.String()
	}
	if t, err := d.ReadToken(); err != nil || t.Kind() != '}' {
		return nil, false
	}
	return labels, true
}
