package policy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/execguard/execguard/detect"
)

// The targets: one decision against a policy of 200 selectors and 50
// responses <= 20 µs; loading and compiling that policy from disk <= 2 ms.

func benchFacts() []detect.Facts {
	return []detect.Facts{
		facts(tty),
		facts(ns("team-7-x"), pod("web-3-abc"), labels("app", "svc-12", "tier", "frontend")),
		facts(start, img("ghcr.io/acme/app:1.2"), args("/opt/app3/x/bin/run.sh", "--debug")),
		facts(tty, args("/usr/local/bin/python3", "-c", "print(1)"), uid(1000), ctr("sidecar-1")),
	}
}

func BenchmarkEvaluate200x50(b *testing.B) {
	p, err := parseYAML("gen.yaml", genPolicy(200, 50, 1))
	if err != nil {
		b.Fatal(err)
	}
	fs := benchFacts()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := fs[i%len(fs)]
		_ = Decision(f, p.Evaluate(f, noon), p.Revision())
	}
}

func BenchmarkEvaluateDefault(b *testing.B) {
	p := Default()
	f := facts(tty)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = Decision(f, p.Evaluate(f, noon), p.Revision())
	}
}

// BenchmarkParse200x50 is the YAML path: what a changed policy costs once.
func BenchmarkParse200x50(b *testing.B) {
	data := genPolicy(200, 50, 1)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := parseYAML("gen.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadOrLastGood200x50 is the wrapper's path: read the cached spec
// and hash the file, read the cached spec and compile it.
func BenchmarkLoadOrLastGood200x50(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(path, genPolicy(200, 50, 1), 0o644); err != nil {
		b.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	if _, err := loadOrLastGood(path, state, parseSpecYAML); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := loadOrLastGood(path, state, parseSpecYAML); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad200x50 is Load without the cache, for comparison.
func BenchmarkLoad200x50(b *testing.B) {
	path := filepath.Join(b.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, genPolicy(200, 50, 1), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := loadYAML(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadOrLastGoodDefaultSize(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(path, DefaultYAML(), 0o644); err != nil {
		b.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	if _, err := LoadOrLastGood(path, state, parseSpecYAML); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := LoadOrLastGood(path, state, parseSpecYAML); err != nil {
			b.Fatal(err)
		}
	}
}
