package config

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// simpleCorpus are configuration files in the plain form and just beyond
// it: each either decodes alike both ways or is left to go-toml.
var simpleCorpus = []string{
	"",
	"# nothing\n\n",
	"event_log = \"/var/log/execguard/events.ndjson\"\nstate_dir = \"/run/execguard\"\ninteractive_action = \"alert\"\nfail_mode = \"open\"\n\n[runtimes]\nrunc = \"/usr/sbin/runc\"\n",
	"event_log = '/e.ndjson' # where\r\nfail_mode='closed'\r\n[ runtimes ] # table\r\ncrun = '/usr/bin/crun'\r\nrunc=\"/usr/local/sbin/runc\"\r\n",
	"policy = \"/etc/execguard/policy.yaml\"\npolicy_compiler = \"/usr/local/bin/execguard\"\nrules_dir = \"/etc/execguard/rules\"\ncluster_name = \"prod\"\ncluster_id = \"c-1\"\n",
	"redact = ['(?i)secret=(\\S+)', \"AKIA\"]\nredact_flags = [\n  \"--password\", # the usual\n  '--token',\n]\nenv_values = []\n",
	"env_values = [\"TERM\",\"LANG\"]",
	"interactive_action = \"block\"\n[runtimes]\nkata = \"/opt/kata/bin/kata-runtime\"\n",
	"cluster_name = \"é ü \t tab\"\n",
	// Beyond the plain form: go-toml decides.
	"event_log = \"/e\\u0041\"\n",
	"event_log = \"\"\"/e\"\"\"\n",
	"event_log = '''/e'''\n",
	"unknown = \"x\"\n",
	"event_log = \"/a\"\nevent_log = \"/b\"\n",
	"[runtimes]\nrunc = \"/a\"\n[runtimes]\ncrun = \"/b\"\n",
	"[other]\nx = \"y\"\n",
	"runtimes.runc = \"/a\"\n",
	"event_log = \"/a\" \"/b\"\n",
	"event_log = 3\n",
	"redact = [\"a\", 1]\n",
	"redact = \"a\"\n",
	"event_log = [\"/a\"]\n",
	"event_log = \"/a\nb\"\n",
	"event_log = \"/a\"\rfail_mode = \"open\"\n",
	"\"event_log\" = \"/a\"\n",
	"event_log = \"/a\" # \x01\n",
	"[runtimes]\nrunc = [\"/a\"]\n",
	"[runtimes]\nrunc = \"/a\"\nrunc = \"/b\"\n",
	"redact = [\"a\",,]\n",
	"redact = [\n",
	"fail_mode = \"closed\"\n[runtimes\n",
	"event_log = \"\xff\"\n",
}

// decodeWithTOML is Parse's go-toml decode, for comparison.
func decodeWithTOML(data []byte) (Config, error) {
	cfg := Default()
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&cfg)
	return cfg, err
}

func checkSimple(t *testing.T, data []byte) (accepted bool) {
	t.Helper()
	got := Default()
	if !parseSimple(data, &got) {
		return false
	}
	want, err := decodeWithTOML(data)
	if err != nil {
		t.Fatalf("%q: the plain form accepts what go-toml refuses: %v", data, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: plain form gives\n%+v\ngo-toml\n%+v", data, got, want)
	}
	return true
}

func TestParseSimpleSameAsTOML(t *testing.T) {
	accepted := 0
	for _, c := range simpleCorpus {
		if checkSimple(t, []byte(c)) {
			accepted++
		}
	}
	// The first nine are plain.
	if accepted != 9 {
		t.Errorf("%d files of the corpus in the plain form, want 9", accepted)
	}
}

func FuzzParseSimple(f *testing.F) {
	for _, c := range simpleCorpus {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSimple(t, data)
	})
}
