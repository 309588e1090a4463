// Package state is the node-local state the NRI plugin and the runtime
// wrapper share, as files under one directory (default /run/execguard):
//
//	containers/<id>.json  what the plugin knows of a container (pod labels, UID,
//	                      image digest, runtime handler), for the wrapper's events
//	covered/<id>          a mark the wrapper leaves for every container whose
//	                      create it handled, so the plugin can report the rest;
//	                      it holds the start facts an end event pairs with
//
// Every file is written to a temporary name and renamed, so a reader never
// sees half a record. A record is read only when it is a regular file owned
// by root and writable by it alone (package trust): whoever else could write
// one would choose the pod identity events and policies see.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/execguard/execguard/detect"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/execguard/execguard/internal/plainfile"
	"github.com/execguard/execguard/internal/trust"
)

// DefaultDir is the state directory unless configured otherwise.
const DefaultDir = "/run/execguard"

const (
	containersDir = "containers"
	coveredDir    = "covered"
	maxRecord     = 1 << 20
)

// Container is the plugin's record of one container.
type Container struct {
	ID             string            `json:"id"`
	Name           string            `json:"name,omitempty"`
	SandboxID      string            `json:"sandbox_id,omitempty"`
	PodName        string            `json:"pod_name,omitempty"`
	PodNamespace   string            `json:"pod_namespace,omitempty"`
	PodUID         string            `json:"pod_uid,omitempty"`
	PodLabels      map[string]string `json:"pod_labels,omitempty"`
	Image          string            `json:"image,omitempty"`
	ImageDigest    string            `json:"image_digest,omitempty"`
	RuntimeHandler string            `json:"runtime_handler,omitempty"`
}

// Apply lays the record over what the annotations gave: the plugin knows
// what annotations lack (pod labels on containerd, the pod UID everywhere,
// the image digest, the runtime handler).
func (r Container) Apply(c *detect.Container) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.ID, r.ID)
	set(&c.Name, r.Name)
	set(&c.SandboxID, r.SandboxID)
	set(&c.PodName, r.PodName)
	set(&c.PodNamespace, r.PodNamespace)
	set(&c.PodUID, r.PodUID)
	set(&c.Image, r.Image)
	set(&c.ImageDigest, r.ImageDigest)
	set(&c.RuntimeHandler, r.RuntimeHandler)
	if len(r.PodLabels) > 0 {
		c.PodLabels = r.PodLabels
	}
}

// Mark is what the wrapper records of a container's start at create: the
// init process's entity id and start time as its container-start event has
// them, and whether the init is an interactive entry leader.
type Mark struct {
	EntityID    string `json:"entity_id"`
	Time        string `json:"time"`
	Interactive bool   `json:"interactive"`
	// EndsBy names the front that writes the end events of the
	// container's processes itself (execguard's shim); the NRI plugin then
	// writes none for it.
	EndsBy string `json:"ends_by,omitempty"`
}

// LocalHost identifies this node as events name it: its host name and
// /etc/machine-id.
func LocalHost() detect.Host {
	h := detect.Host{}
	if name, err := os.Hostname(); err == nil {
		h.Name = name
	}
	if id, err := plainfile.ReadFile("/etc/machine-id"); err == nil {
		h.ID = strings.TrimSpace(string(id))
	}
	return h
}

// ValidID reports whether id can name a file in the state directory: not
// empty, no path separator, not . or .., no NUL, at most 255 bytes.
func ValidID(id string) error {
	switch {
	case id == "" || id == "." || id == "..":
		return fmt.Errorf("container id %q is not a valid file name", id)
	case strings.ContainsAny(id, "/\x00"):
		return fmt.Errorf("container id %q contains a path separator or NUL", id)
	case len(id) > 255:
		return fmt.Errorf("container id of %d bytes is too long", len(id))
	}
	return nil
}

// ContainerPath is where the record of container id lives.
func ContainerPath(dir, id string) (string, error) {
	if err := ValidID(id); err != nil {
		return "", err
	}
	return filepath.Join(dir, containersDir, id+".json"), nil
}

// CoveredPath is where the wrapper's mark for container id lives.
func CoveredPath(dir, id string) (string, error) {
	if err := ValidID(id); err != nil {
		return "", err
	}
	return filepath.Join(dir, coveredDir, id), nil
}

// WriteContainer publishes a container's record atomically.
func WriteContainer(dir string, c Container) error {
	path, err := ContainerPath(dir, c.ID)
	if err != nil {
		return err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("container %s: %w", c.ID, err)
	}
	return writeAtomic(path, data)
}

// ReadContainer reads a container's record; ok is false when there is none.
func ReadContainer(dir, id string) (c Container, ok bool, err error) {
	path, err := ContainerPath(dir, id)
	if err != nil {
		return c, false, err
	}
	data, err := trust.ReadFile(path, maxRecord, trust.NoFollow)
	if errors.Is(err, fs.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return c, false, err
	}
	if c, err = decodeContainer(data); err != nil {
		return c, false, fmt.Errorf("%s: %w", path, err)
	}
	return c, true, nil
}

// RemoveContainer forgets a container's record; a missing one is no error.
func RemoveContainer(dir, id string) error {
	path, err := ContainerPath(dir, id)
	if err != nil {
		return err
	}
	return removeIfExists(path)
}

// MarkCovered records that the wrapper handled the create of container id.
func MarkCovered(dir, id string, m Mark) error {
	path, err := CoveredPath(dir, id)
	if err != nil {
		return err
	}
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	return writeAtomic(path, data)
}

// ReadMark reads the wrapper's mark for container id; ok is false when there
// is none. A mark left empty by an older wrapper reads as a zero Mark.
func ReadMark(dir, id string) (m Mark, ok bool, err error) {
	path, err := CoveredPath(dir, id)
	if err != nil {
		return m, false, err
	}
	data, err := trust.ReadFile(path, maxRecord, trust.NoFollow)
	if errors.Is(err, fs.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	if len(data) == 0 {
		return m, true, nil
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, false, fmt.Errorf("%s: %w", path, err)
	}
	return m, true, nil
}

// ListContainers returns the ids of the published container records.
func ListContainers(dir string) ([]string, error) {
	return list(filepath.Join(dir, containersDir), ".json")
}

// ListCovered returns the ids of the containers the wrapper marked.
func ListCovered(dir string) ([]string, error) {
	return list(filepath.Join(dir, coveredDir), "")
}

// list returns the ids named by the files in dir (with suffix removed),
// skipping temporary files; a missing dir is an empty list.
func list(dir, suffix string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") || e.IsDir() {
			continue
		}
		id, ok := strings.CutSuffix(name, suffix)
		if !ok || ValidID(id) != nil {
			continue
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Covered reports whether the wrapper handled the create of container id.
func Covered(dir, id string) (bool, error) {
	path, err := CoveredPath(dir, id)
	if err != nil {
		return false, err
	}
	_, err = os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// RemoveCovered forgets the mark of container id; a missing one is no error.
func RemoveCovered(dir, id string) error {
	path, err := CoveredPath(dir, id)
	if err != nil {
		return err
	}
	return removeIfExists(path)
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// writeAtomic writes data to a temporary file beside path and renames it
// over path, creating the directory when missing.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("publish %s: %w", path, err)
	}
	return nil
}
