package ecsfields

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	table, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(table) < 2000 {
		t.Fatalf("%d fields loaded, want the whole table", len(table))
	}
	tests := []struct {
		name, doc string
		allowed   []string
		problems  []string
	}{
		{"clean", `{"@timestamp":"2026-01-01T00:00:00Z","process":{"pid":1,"args":["sh"],"interactive":true},"orchestrator":{"resource":{"label":{"app":"a","app.kubernetes.io/name":"b"}}},"container":{}}`, nil, nil},
		{"unmapped field", `{"process":{"bogus":1}}`, nil, []string{"process.bogus: not a mapped field"}},
		{"allowed namespace", `{"execguard":{"x":{"y":1}}}`, []string{"execguard."}, nil},
		{"string where a long goes", `{"process":{"pid":"1"}}`, nil, []string{"process.pid (long)"}},
		{"fraction where a long goes", `{"process":{"exit_code":1.5}}`, nil, []string{"process.exit_code (long)"}},
		{"bad date", `{"process":{"start":"yesterday"}}`, nil, []string{"process.start (date)"}},
		{"number where a keyword goes", `{"process":{"user":{"id":0}}}`, nil, []string{"process.user.id (keyword)"}},
		{"short out of range", `{"cloud_defend":{"package_policy_revision":70000}}`, nil, []string{"cloud_defend.package_policy_revision (short)"}},
		{"object where a keyword goes", `{"process":{"name":{"x":"y"}}}`, nil, []string{"process.name.x: not a mapped field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal([]byte(tt.doc), &doc); err != nil {
				t.Fatal(err)
			}
			got := table.Check(doc, tt.allowed...)
			if len(got) != len(tt.problems) {
				t.Fatalf("problems %q, want %q", got, tt.problems)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.problems[i]) {
					t.Errorf("problem %q, want %q...", got[i], tt.problems[i])
				}
			}
		})
	}
}
