package policy

import (
	"errors"
	"github.com/execguard/execguard/detect/policy/internal/yamlspec"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func writePolicy(t testing.TB, path, src string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

const (
	policyA = "process:\n  selectors:\n    - name: a\n      processName: [sh]\n  responses:\n    - match: [a]\n      actions: [alert]\n"
	policyB = "process:\n  selectors:\n    - name: b\n      processName: [bash]\n  responses:\n    - match: [b]\n      actions: [alert, block]\n"
	invalid = "process:\n  selectors:\n    - name: a\n      processName: sh\n  responses:\n    - match: [a]\n      actions: [alert]\n"
)

func TestLoadOrLastGood(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	state := filepath.Join(dir, "state")
	load := func() (*Policy, error) { return LoadOrLastGood(path, state, parseSpecYAML) }

	// No file and no last good policy: nothing, and the error.
	p, err := load()
	if p != nil || err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v, %v", p, err)
	}

	// A valid file is loaded and cached.
	writePolicy(t, path, policyA)
	p, err = load()
	if err != nil || p.Revision() != revisionOf([]byte(policyA)) || p.SelectorNames()[0] != "a" {
		t.Fatalf("valid file: %v, %v", p, err)
	}
	cache := cacheFile(state, path)
	if _, err := os.Stat(cache); err != nil {
		t.Fatalf("no cache written: %v", err)
	}

	// The next load reads the cache: proven by a cache whose spec differs
	// from the file under the same revision (never the case in use).
	entry := readCache(cache, path)
	entry.Spec.Selectors[0].Name = "from-cache"
	entry.Spec.Responses[0].Match[0].S = "from-cache"
	if err := writeCache(cache, entry); err != nil {
		t.Fatal(err)
	}
	p, err = load()
	if err != nil || p.SelectorNames()[0] != "from-cache" {
		t.Fatalf("cached load: %v, %v", p.SelectorNames(), err)
	}

	// A changed valid file takes effect at once.
	writePolicy(t, path, policyB)
	p, err = load()
	if err != nil || p.Revision() != revisionOf([]byte(policyB)) || p.SelectorNames()[0] != "b" {
		t.Fatalf("changed file: %v, %v", p, err)
	}

	// An invalid file: the last good policy stays in force, with the error.
	writePolicy(t, path, invalid)
	p, err = load()
	var es Errors
	if !errors.As(err, &es) || es[0].Line != 4 || !strings.Contains(es[0].Msg, "want a list") {
		t.Fatalf("invalid file: error %v", err)
	}
	if p == nil || p.Revision() != revisionOf([]byte(policyB)) || p.SelectorNames()[0] != "b" {
		t.Fatalf("invalid file: policy %v, want the last good one (b)", p)
	}
	// ... every time, and without replacing the last good one.
	if p2, err := load(); err == nil || p2 == nil || p2.Revision() != p.Revision() {
		t.Fatalf("invalid file again: %v, %v", p2, err)
	}

	// A removed file: the same.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	p, err = load()
	if err == nil || p == nil || p.Revision() != revisionOf([]byte(policyB)) {
		t.Fatalf("removed file: %v, %v", p, err)
	}

	// Fixed again.
	writePolicy(t, path, policyA)
	if p, err = load(); err != nil || p.SelectorNames()[0] != "a" {
		t.Fatalf("fixed file: %v, %v", p, err)
	}
}

func TestLoadOrLastGoodIsPerPath(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	writePolicy(t, a, policyA)
	if _, err := LoadOrLastGood(a, state, parseSpecYAML); err != nil {
		t.Fatal(err)
	}
	writePolicy(t, b, invalid)
	if p, err := LoadOrLastGood(b, state, parseSpecYAML); p != nil || err == nil {
		t.Fatalf("another path's last good policy was used: %v, %v", p, err)
	}
}

// A damaged or foreign cache is ignored, never trusted.
func TestLoadOrLastGoodDamagedCache(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	state := filepath.Join(dir, "state")
	writePolicy(t, path, policyA)
	if _, err := LoadOrLastGood(path, state, parseSpecYAML); err != nil {
		t.Fatal(err)
	}
	cache := cacheFile(state, path)
	good, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	damaged := map[string][]byte{
		"empty":     {},
		"truncated": good[:len(good)/2],
		"flipped":   append(append([]byte{}, good[:20]...), append([]byte{good[20] ^ 0xff}, good[21:]...)...),
		"garbage":   []byte(strings.Repeat("\xff", 100)),
	}
	for name, data := range damaged {
		if err := os.WriteFile(cache, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if e := readCache(cache, path); e != nil {
			t.Errorf("%s cache was read", name)
		}
		// The valid file still loads, and repairs the cache.
		if p, err := LoadOrLastGood(path, state, parseSpecYAML); err != nil || p.SelectorNames()[0] != "a" {
			t.Errorf("%s cache: %v, %v", name, p, err)
		}
		if readCache(cache, path) == nil {
			t.Errorf("%s cache was not rewritten", name)
		}
		// An invalid file with a damaged cache: no policy.
		if err := os.WriteFile(cache, data, 0o600); err != nil {
			t.Fatal(err)
		}
		writePolicy(t, path, invalid)
		if p, err := LoadOrLastGood(path, state, parseSpecYAML); p != nil || err == nil {
			t.Errorf("%s cache with an invalid file: %v, %v", name, p, err)
		}
		writePolicy(t, path, policyA)
	}
}

// A state directory that cannot be written does not stop a valid policy.
func TestLoadOrLastGoodUnwritableState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	writePolicy(t, path, policyA)
	state := filepath.Join(dir, "state-is-a-file")
	if err := os.WriteFile(state, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := LoadOrLastGood(path, state, parseSpecYAML); err != nil || p == nil {
		t.Fatalf("%v, %v", p, err)
	}
}

func TestCacheRoundTrip(t *testing.T) {
	s, errs := yamlspec.Read("gen.yaml", genPolicy(200, 50, 3))
	if errs != nil {
		t.Fatal(errs)
	}
	s.Notes = append(s.Notes, Error{File: "f", Line: 1, Column: 2, Key: "k", Msg: "m", Hint: "h"})
	in := &cacheEntry{Format: cacheFormat, Path: "/etc/p.yaml", Revision: "abc", Spec: s}
	out, err := decodeEntry(encodeEntry(in))
	if err != nil {
		t.Fatal(err)
	}
	// Compare through the encoding: equal specs encode alike.
	if string(encodeEntry(out)) != string(encodeEntry(in)) || out.Path != in.Path || len(out.Spec.Selectors) != 200 {
		t.Fatal("round trip changed the entry")
	}
}

// Concurrent wrappers loading and rewriting the same policy always get a
// whole policy: one of the two valid ones, or the last good one.
func TestLoadOrLastGoodConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	state := filepath.Join(dir, "state")
	writePolicy(t, path, policyA)
	valid := map[string]bool{revisionOf([]byte(policyA)): true, revisionOf([]byte(policyB)): true}
	// A last good policy exists before the race starts: without one, a
	// load that finds the file invalid rightly has nothing to give.
	if p, err := LoadOrLastGood(path, state, parseSpecYAML); p == nil || err != nil {
		t.Fatalf("first load: %v, %v", p, err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				p, _ := LoadOrLastGood(path, state, parseSpecYAML)
				if p == nil || !valid[p.Revision()] {
					t.Errorf("got policy %v", p)
					return
				}
			}
		}()
	}
	for i := 0; i < 100; i++ {
		writePolicy(t, path, []string{policyA, policyB, invalid}[i%3])
	}
	wg.Wait()
}

// TestCacheNeverStandsInForTheFile: the attack of a writer of the state
// directory. A cached permissive policy, even one whose entry is made to
// look current, never applies while the file holds a strict one; a cache
// file others than root could have written is not read at all.
func TestCacheNeverStandsInForTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	state := filepath.Join(dir, "state")
	cache := cacheFile(state, path)

	// The permissive policy was in force once: its entry is cached.
	writePolicy(t, path, policyA)
	if _, err := LoadOrLastGood(path, state, parseSpecYAML); err != nil {
		t.Fatal(err)
	}
	permissive := readCache(cache, path)
	if permissive == nil {
		t.Fatal("no cache entry")
	}
	permissive.Spec.Selectors[0].Name = "from-cache"
	permissive.Spec.Responses[0].Match[0].S = "from-cache"

	// The strict one is in the file now; the forged entry claims the file's
	// stat, as the old stat key allowed.
	strict := strings.Replace(policyA, "[sh]", "[xx]", 1)
	writePolicy(t, path, strict)
	permissive.StatKey = "forged"
	if err := writeCache(cache, permissive); err != nil {
		t.Fatal(err)
	}
	p, err := LoadOrLastGood(path, state, parseSpecYAML)
	if err != nil || p.Revision() != revisionOf([]byte(strict)) || p.SelectorNames()[0] != "a" {
		t.Fatalf("the cached policy stood in for the file: %v, %v", p, err)
	}

	// An entry for the file's own revision, written by someone else, is not
	// read: the file is parsed again and the entry replaced.
	forged := readCache(cache, path)
	forged.Spec.Selectors[0].Name = "from-cache"
	forged.Spec.Responses[0].Match[0].S = "from-cache"
	if err := writeCache(cache, forged); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cache, 0o666); err != nil {
		t.Fatal(err)
	}
	if readCache(cache, path) != nil {
		t.Fatal("a world-writable cache entry was read")
	}
	p, err = LoadOrLastGood(path, state, parseSpecYAML)
	if err != nil || p.SelectorNames()[0] != "a" {
		t.Fatalf("a world-writable cache entry decided: %v, %v", p, err)
	}
	if p, err = LastGood(path, state, nil); p == nil || p.SelectorNames()[0] != "a" || err != nil {
		t.Fatalf("last good after the rewrite: %v, %v", p, err)
	}
}

// TestCacheKeepsStdinConditions: a policy on stdin decides the same once
// read back from the node cache.
func TestCacheKeepsStdinConditions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	state := filepath.Join(dir, "state")
	writePolicy(t, path, "process:\n  selectors:\n    - name: shells\n      stdinShell: true\n    - name: piped\n      stdin: [attached]\n"+
		"  responses:\n    - match: [shells]\n      actions: [alert, block]\n    - match: [piped]\n      actions: [log]\n")
	first, err := LoadOrLastGood(path, state, parseSpecYAML)
	if err != nil {
		t.Fatal(err)
	}
	entry := readCache(cacheFile(state, path), path)
	if entry == nil {
		t.Fatal("no cache entry")
	}
	cached, errs := compile(path, entry.Spec)
	if errs != nil {
		t.Fatal(errs)
	}
	for _, p := range []*Policy{first, cached} {
		shell := facts(piped)
		tar := facts(piped, args("tar", "xf", "-"))
		if r := p.Evaluate(shell, noon); !r.Block || strings.Join(r.Selectors, ",") != "shells,piped" {
			t.Errorf("exec -i sh: %+v", r)
		}
		if r := p.Evaluate(tar, noon); r.Block || r.Alert || strings.Join(r.Selectors, ",") != "piped" {
			t.Errorf("exec -i tar: %+v", r)
		}
	}
}
