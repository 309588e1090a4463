package policy

import (
	"errors"
	"fmt"
	"github.com/execguard/execguard/internal/trust"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"

	"github.com/execguard/execguard/detect/policy/internal/spec"
)

// cacheFormat changes whenever the spec or its meaning changes, so that a
// node never reads a cache written by another execguard version.
const cacheFormat = 3

// cacheDir is where compiled policies are kept, under the state directory.
const cacheDir = "policy"

// cacheEntry is the last good policy read from one path, as a spec: reading
// it back (codec.go) is much faster than parsing the YAML again.
type cacheEntry struct {
	Format   int
	Path     string
	Revision string
	// StatKey is no longer written or read (a stat could be made to match
	// another file's); the field keeps the entry format.
	StatKey string
	Spec    *spec.Spec
}

// A Parser reads a policy file's content into the spec of a valid policy,
// or returns every problem in it (Errors). policyfile.ParseSpec parses in
// process; HelperParser has a helper process do it, so that the runtime
// wrapper does not link a YAML parser.
type Parser func(file string, data []byte) (*spec.Spec, error)

// LoadOrLastGood loads the policy file at path for the runtime wrapper,
// which starts once per runtime call and must neither be slow nor be left
// without a policy:
//
//   - When the file holds the policy it held last time (its content hashes
//     to the entry's revision), the policy is read from its cache in
//     stateDir instead of being parsed again. The cache is read only when
//     root wrote it alone (package trust).
//   - When the file is new and valid (parse says so), it becomes the last
//     good policy for path in stateDir.
//   - When the file cannot be read or is invalid, the last good policy for
//     path is returned together with the error, which says why the file was
//     refused; the policy's revision says which policy is in force. When
//     there is no last good policy, the result is nil and the error.
//
// Problems with the state directory itself never make a valid file fail.
func LoadOrLastGood(path, stateDir string, parse Parser) (*Policy, error) {
	return loadOrLastGood(path, stateDir, parse)
}

func loadOrLastGood(path, stateDir string, parse Parser) (*Policy, error) {
	cachePath := cacheFile(stateDir, path)
	entry := readCache(cachePath, path)
	// The file is always read and hashed: the cache stands in for the
	// parse of this very content, never for the file itself.
	data, readErr := ReadFile(path)
	if readErr != nil {
		return lastGood(entry, readErr)
	}
	rev := revisionOf(data)
	if entry != nil && entry.Revision == rev {
		if p, errs := compile(path, entry.Spec); errs == nil {
			p.revision = rev
			return p, nil
		}
	}
	s, err := parse(path, data)
	if err != nil {
		return lastGood(entry, err)
	}
	p, errs := compile(path, s)
	if errs != nil {
		return lastGood(entry, errs)
	}
	p.revision = rev
	// A node that cannot write its cache still enforces the policy; it only
	// parses it again on the next call.
	_ = writeCache(cachePath, &cacheEntry{Format: cacheFormat, Path: path, Revision: rev, Spec: s})
	return p, nil
}

// LastGood returns the last good policy for path together with err, the
// reason the file itself is not used; nil and err when there is none.
func LastGood(path, stateDir string, err error) (*Policy, error) {
	return lastGood(readCache(cacheFile(stateDir, path), path), err)
}

func lastGood(entry *cacheEntry, err error) (*Policy, error) {
	if entry == nil {
		return nil, err
	}
	p, errs := compile(entry.Path, entry.Spec)
	if errs != nil {
		return nil, err
	}
	p.revision = entry.Revision
	return p, err
}

// cacheFile names the cache of one policy path: a hash of the path, so any
// path maps to one flat file name.
func cacheFile(stateDir, path string) string {
	h := fnv.New64a()
	h.Write([]byte(path))
	return filepath.Join(stateDir, cacheDir, strconv.FormatUint(h.Sum64(), 16)+".json")
}

// readCache returns the cache entry for path, or nil when there is none or
// it is unusable (another format, another path, damaged).
func readCache(cachePath, path string) *cacheEntry {
	// A cache entry stands in for a policy: only one root wrote is read.
	data, err := trust.ReadFile(cachePath, 8*MaxFileSize, trust.NoFollow)
	if err != nil {
		return nil
	}
	e, err := decodeEntry(data)
	if err != nil || e.Path != path || e.Revision == "" {
		return nil
	}
	return e
}

// writeCache replaces the cache file atomically: concurrent wrappers read
// either the old entry or the new one, never a part.
func writeCache(cachePath string, e *cacheEntry) error {
	data := encodeEntry(e)
	dir := filepath.Dir(cachePath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("policy cache: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("policy cache: %w", err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("policy cache: %w", err)
	}
	if err := os.Rename(f.Name(), cachePath); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("policy cache: %w", err)
	}
	return nil
}
