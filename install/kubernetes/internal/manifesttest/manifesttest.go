// Package manifesttest reads the Kubernetes manifests execguard ships the
// way their tests check them: every YAML document, decoded strictly (a
// field the Kubernetes API does not know is an error).
package manifesttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"

	"sigs.k8s.io/yaml"
)

// Doc is one YAML document of a manifest.
type Doc struct {
	// Where names it: its file and its place in the file.
	Where string
	// APIVersion and Kind are its own.
	APIVersion, Kind string
	json             []byte
}

// Documents returns the non-empty documents of files in fsys, in order.
func Documents(fsys fs.FS, files []string) ([]Doc, error) {
	var docs []Doc
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		for i, doc := range bytes.Split(data, []byte("\n---")) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			d := Doc{Where: fmt.Sprintf("%s document %d", f, i+1)}
			if d.json, err = yaml.YAMLToJSON(doc); err != nil {
				return nil, fmt.Errorf("%s: %w", d.Where, err)
			}
			var meta struct{ APIVersion, Kind string }
			if err := json.Unmarshal(d.json, &meta); err != nil {
				return nil, fmt.Errorf("%s: %w", d.Where, err)
			}
			d.APIVersion, d.Kind = meta.APIVersion, meta.Kind
			docs = append(docs, d)
		}
	}
	return docs, nil
}

// Decode decodes the document into v strictly: a field v's type does not
// have is an error.
func (d Doc) Decode(v any) error {
	dec := json.NewDecoder(bytes.NewReader(d.json))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s (%s): %w", d.Where, d.Kind, err)
	}
	return nil
}

// Append decodes the document strictly into a new T and appends it to list.
func Append[T any](d Doc, list *[]T) error {
	var v T
	if err := d.Decode(&v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}
