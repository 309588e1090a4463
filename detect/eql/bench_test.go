package eql

import (
	"fmt"
	"testing"
)

// benchRules are 50 queries shaped like Elastic's container rules: the two seed queries and
// variations over names, arguments, wildcards, regexes and functions.
func benchRules() []string {
	qs := []string{rule2023, rule2026}
	for i := 0; len(qs) < 50; i++ {
		switch i % 4 {
		case 0:
			qs = append(qs, fmt.Sprintf(`process where event.type == "start" and event.action == "exec" and process.name in ("tool%d", "nc", "ncat", "socat") and container.id like "?*"`, i))
		case 1:
			qs = append(qs, fmt.Sprintf(`process where event.type == "start" and process.interactive == true and process.executable like ("/tmp/*", "/dev/shm/*", "/var/tmp/%d/*") and container.id like "?*"`, i))
		case 2:
			qs = append(qs, fmt.Sprintf(`process where event.type == "start" and process.args : ("*curl*http*%d*", "*wget *") and not process.working_directory in ("/opt/apt", "/opt/yum")`, i))
		case 3:
			qs = append(qs, fmt.Sprintf(`process where event.action == "exec" and (startsWith~(process.name, "python%d") or process.command_line regex~ ".*base64 -d.*") and length(process.name) > 2`, i))
		}
	}
	return qs
}

func BenchmarkCompile50(b *testing.B) {
	qs := benchRules()
	for b.Loop() {
		for _, q := range qs {
			if _, err := Compile(q); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkMatch50(b *testing.B) {
	var compiled []*Query
	for _, q := range benchRules() {
		compiled = append(compiled, mustCompile(b, q))
	}
	doc := Prepare(decode(b, execEvent))
	b.ReportAllocs()
	for b.Loop() {
		for _, q := range compiled {
			q.MatchDocument(doc)
		}
	}
}
