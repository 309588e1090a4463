package fsplan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
)

// JournalVersion is the manifest format this package writes.
const JournalVersion = 1

// Journal records what was changed: for every path, what was there before
// (a backup copy for files) and what was put there; and the directories
// created on the way.
type Journal struct {
	Version int      `json:"version"`
	Entries []Entry  `json:"entries"`
	Dirs    []string `json:"dirs,omitempty"` // created, outermost first
}

// Entry is one changed path.
type Entry struct {
	Path      string   `json:"path"`
	Group     string   `json:"group,omitempty"` // what the path is for
	Prior     Snapshot `json:"prior"`
	Installed Snapshot `json:"installed"`
	// Inserted is the exact text a minimal edit added to the prior
	// content, so that it can be taken out again if the file changed since.
	Inserted string `json:"inserted,omitempty"`
}

// Meta is what the journal records about a path beside its states.
type Meta struct {
	Group    string
	Inserted string
}

// Snapshot identifies a state without holding a file's content.
type Snapshot struct {
	Kind   Kind   `json:"kind"`
	Mode   uint32 `json:"mode,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Target string `json:"target,omitempty"`
	Backup string `json:"backup,omitempty"` // host path of the prior content
}

// Matches reports whether s identifies st.
func (s Snapshot) Matches(st State) bool {
	if s.Kind != st.Kind {
		return false
	}
	switch s.Kind {
	case File:
		return s.SHA256 == st.Sum() && fs.FileMode(s.Mode).Perm() == st.Mode.Perm()
	case Symlink:
		return s.Target == st.Target
	}
	return true
}

func snapshot(st State) Snapshot {
	s := Snapshot{Kind: st.Kind}
	switch st.Kind {
	case File:
		s.Mode = uint32(st.Mode.Perm())
		s.SHA256 = st.Sum()
	case Symlink:
		s.Target = st.Target
	}
	return s
}

// Entry returns the entry of path, if any.
func (j Journal) Entry(path string) (Entry, bool) {
	for _, e := range j.Entries {
		if e.Path == path {
			return e, true
		}
	}
	return Entry{}, false
}

// Store keeps a journal and the backups under one host directory.
type Store struct {
	Host Host
	Dir  string // host path
}

// ManifestPath is the journal's host path.
func (s Store) ManifestPath() string { return filepath.Join(s.Dir, "manifest.json") }

// BackupPath is where the prior content of host path p is kept.
func (s Store) BackupPath(p string) string { return filepath.Join(s.Dir, "files", p) }

// Load reads the journal; ok is false when there is none.
func (s Store) Load() (j Journal, ok bool, err error) {
	st, err := s.Host.Read(s.ManifestPath())
	if err != nil {
		return j, false, err
	}
	if st.Kind == Absent {
		return Journal{Version: JournalVersion}, false, nil
	}
	if st.Kind != File {
		return j, false, fmt.Errorf("%s: not a regular file", s.ManifestPath())
	}
	dec := json.NewDecoder(bytes.NewReader(st.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return j, false, fmt.Errorf("%s: %w", s.ManifestPath(), err)
	}
	if j.Version != JournalVersion {
		return j, false, fmt.Errorf("%s: manifest version %d, want %d", s.ManifestPath(), j.Version, JournalVersion)
	}
	return j, true, nil
}

func (s Store) save(j Journal) error {
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return s.Host.Put(s.ManifestPath(), State{Kind: File, Data: append(data, '\n'), Mode: 0o600})
}

// Preflight checks that every step and the journal could be written.
func (s Store) Preflight(p Plan) error {
	var errs []error
	for _, st := range p.Steps {
		if err := s.Host.Writable(st.Path); err != nil {
			errs = append(errs, err)
		}
	}
	if len(p.Steps) > 0 {
		if err := s.Host.Writable(s.ManifestPath()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Apply makes the plan's changes. Before touching anything it keeps a
// backup of every file it will replace for the first time and writes the
// journal; a path already in the journal keeps its first prior state, so
// installing twice never backs up the installer's own output. meta names
// each path's purpose. If a change fails, the ones made are undone and the
// journal is put back.
func (s Store) Apply(p Plan, meta map[string]Meta) error {
	if p.Empty() {
		return nil
	}
	if err := s.Preflight(p); err != nil {
		return fmt.Errorf("nothing written: %w", err)
	}
	old, hadJournal, err := s.Load()
	if err != nil {
		return fmt.Errorf("nothing written: %w", err)
	}
	j := old
	j.Version = JournalVersion
	j.Entries = slices.Clone(old.Entries)
	j.Dirs = slices.Clone(old.Dirs)
	var backups []string // written in this call, removed on failure
	undo := func(applied []Step) error {
		var errs []error
		for i := len(applied) - 1; i >= 0; i-- {
			if err := s.Host.Put(applied[i].Path, applied[i].Have); err != nil {
				errs = append(errs, fmt.Errorf("undo: %w", err))
			}
		}
		for _, b := range backups {
			_ = s.Host.Put(b, State{Kind: Absent})
		}
		if hadJournal {
			errs = append(errs, s.save(old))
		} else {
			_ = s.Host.Put(s.ManifestPath(), State{Kind: Absent})
		}
		s.Host.RemoveEmptyDirs(j.Dirs[len(old.Dirs):])
		return errors.Join(errs...)
	}
	mkdir := func(dir string) error {
		created, err := s.Host.MkdirAll(dir, 0o755)
		j.Dirs = append(j.Dirs, created...)
		return err
	}

	for _, st := range p.Steps {
		m := meta[st.Path]
		i := slices.IndexFunc(j.Entries, func(e Entry) bool { return e.Path == st.Path })
		if i < 0 {
			e := Entry{Path: st.Path, Group: m.Group, Inserted: m.Inserted, Prior: snapshot(st.Have)}
			if st.Have.Kind == File {
				b := s.BackupPath(st.Path)
				if err := mkdir(filepath.Dir(b)); err != nil {
					return errors.Join(fmt.Errorf("back up %s: %w", st.Path, err), undo(nil))
				}
				if err := s.Host.Put(b, State{Kind: File, Data: st.Have.Data, Mode: 0o600}); err != nil {
					return errors.Join(fmt.Errorf("back up %s: %w", st.Path, err), undo(nil))
				}
				backups = append(backups, b)
				e.Prior.Backup = b
			}
			j.Entries = append(j.Entries, e)
			i = len(j.Entries) - 1
		}
		j.Entries[i].Installed = snapshot(st.Want)
	}
	if err := mkdir(s.Dir); err != nil {
		return errors.Join(err, undo(nil))
	}
	if err := s.save(j); err != nil {
		return errors.Join(err, undo(nil))
	}
	var applied []Step
	for _, st := range p.Steps {
		if st.Want.Kind != Absent {
			if err := mkdir(filepath.Dir(st.Path)); err != nil {
				return errors.Join(err, undo(applied))
			}
		}
		if err := s.Host.Put(st.Path, st.Want); err != nil {
			return errors.Join(err, undo(applied))
		}
		applied = append(applied, st)
	}
	return s.save(j)
}

// PriorState rebuilds what the entry's path held before the first change,
// checking the backup against the recorded digest.
func (s Store) PriorState(e Entry) (State, error) {
	switch e.Prior.Kind {
	case Absent:
		return State{Kind: Absent}, nil
	case Symlink:
		return State{Kind: Symlink, Target: e.Prior.Target}, nil
	case File:
		b, err := s.Host.Read(e.Prior.Backup)
		if err != nil {
			return State{}, fmt.Errorf("backup of %s: %w", e.Path, err)
		}
		if b.Kind != File {
			return State{}, fmt.Errorf("backup of %s: %s is missing", e.Path, e.Prior.Backup)
		}
		st := State{Kind: File, Data: b.Data, Mode: fs.FileMode(e.Prior.Mode)}
		if st.Sum() != e.Prior.SHA256 {
			return State{}, fmt.Errorf("backup of %s: %s does not match its recorded sha256", e.Path, e.Prior.Backup)
		}
		return st, nil
	}
	return State{}, fmt.Errorf("%s: unknown prior kind %q", e.Path, e.Prior.Kind)
}

// Restore applies plan (steps that put journaled paths back) and drops the
// entries of done from the journal with their backups. When no entry is
// left, the journal, the backups and every directory created along the way
// (when empty) are removed as well.
func (s Store) Restore(p Plan, done []string) error {
	j, ok, err := s.Load()
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("no installation journal at " + s.ManifestPath())
	}
	for _, st := range p.Steps {
		if err := s.Host.Writable(st.Path); err != nil {
			return fmt.Errorf("nothing restored: %w", err)
		}
	}
	for _, st := range p.Steps {
		if err := s.Host.Put(st.Path, st.Want); err != nil {
			return err
		}
	}
	var left []Entry
	for _, e := range j.Entries {
		if !slices.Contains(done, e.Path) {
			left = append(left, e)
			continue
		}
		if e.Prior.Backup != "" {
			if err := s.Host.Put(e.Prior.Backup, State{Kind: Absent}); err != nil {
				return err
			}
		}
	}
	j.Entries = left
	if len(left) > 0 {
		return s.save(j)
	}
	if err := s.Host.Put(s.ManifestPath(), State{Kind: Absent}); err != nil {
		return err
	}
	// The backup tree's own directories go first, then the created ones.
	s.Host.RemoveEmptyDirs(walkDirs(s.Host, filepath.Join(s.Dir, "files")))
	s.Host.RemoveEmptyDirs(j.Dirs)
	return nil
}

// walkDirs lists the host directory dir and every directory below it,
// outermost first.
func walkDirs(h Host, dir string) []string {
	var out []string
	_ = filepath.WalkDir(h.Local(dir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		rel, rerr := filepath.Rel(h.Local(dir), p)
		if rerr != nil {
			return nil
		}
		out = append(out, filepath.Join(dir, rel))
		return nil
	})
	return out
}
