package eventview

import (
	"strings"
	"testing"
)

func TestKubernetesUser(t *testing.T) {
	tests := []struct {
		name, line, user, summary string
	}{
		{"webhook refusal",
			`{"@timestamp":"2026-12-02T19:37:12.41Z","event":{"kind":"event","type":["denied"],"action":"exec","outcome":"failure","dataset":"execguard.admission"},"user":{"name":"alice","group":{"name":["dev"]}},"process":{"args":["sh"],"interactive":true},"container":{"name":"app"},"orchestrator":{"namespace":"demo","resource":{"name":"web"}},"execguard":{"action":"block"}}`,
			"alice", "Interactive exec refused at the API"},
		{"webhook attach admitted",
			`{"@timestamp":"2026-12-02T19:37:12.41Z","event":{"kind":"event","type":["allowed"],"action":"attach","outcome":"success","dataset":"execguard.admission"},"user":{"name":"bob"},"process":{"interactive":true},"execguard":{"action":"none"}}`,
			"bob", "Interactive attach admitted at the API"},
		{"runtime event attributed by the join",
			`{"@timestamp":"2026-12-02T19:37:12.41Z","event":{"kind":"event","action":"exec","outcome":"success","dataset":"cloud_defend.process"},"user":{"name":"bob","group":{"name":["sre"]}},"process":{"args":["sh"],"interactive":true},"execguard":{"action":"alert","audit":{"match":"unique","id":"x"}}}`,
			"bob", "Interactive exec"},
		{"runtime event the join found ambiguous",
			`{"@timestamp":"2026-12-02T19:37:12.41Z","event":{"kind":"event","action":"exec","outcome":"success"},"process":{"args":["sleep","2"],"interactive":false},"execguard":{"action":"log","audit":{"match":"ambiguous","candidates":[{"id":"a","user":"alice"},{"id":"b","user":"bob"},{"id":"c","user":"alice"}]}}}`,
			"ambiguous: alice, bob", "Exec"},
		{"runtime event without a join",
			`{"@timestamp":"2026-12-02T19:37:12.41Z","event":{"kind":"event","action":"exec","outcome":"success"},"process":{"args":["id"]},"execguard":{"action":"log"}}`,
			"", "Exec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse([]byte(tt.line))
			if err != nil {
				t.Fatal(err)
			}
			if got := e.KubernetesUser(); got != tt.user {
				t.Errorf("user %q, want %q", got, tt.user)
			}
			if got := e.Summary(); got != tt.summary {
				t.Errorf("summary %q, want %q", got, tt.summary)
			}
			line := NewPrinter(&strings.Builder{}, false).Line(e)
			if want := "k8s_user=" + quote(tt.user); (tt.user != "") != strings.Contains(line, want) {
				t.Errorf("line %q: want %q shown: %v", line, want, tt.user != "")
			}
		})
	}
}
