package tomledit

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		t.Fatalf("result does not parse: %v\n%s", err, data)
	}
	return m
}

func TestAppendToArray(t *testing.T) {
	const drop = "/etc/containerd/conf.d/99-execguard.toml"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty array", "version = 2\nimports = []\n[a]\nb = 1\n",
			"version = 2\nimports = [\"" + drop + "\"]\n[a]\nb = 1\n"},
		{"one element, single quotes", "version = 3\nimports = ['/etc/x/*.toml']\n",
			"version = 3\nimports = ['/etc/x/*.toml', \"" + drop + "\"]\n"},
		{"multi-line with trailing comma and comment", "imports = [\n  \"/a.toml\", # first\n  \"/b.toml\",\n]\nversion = 2\n",
			"imports = [\n  \"/a.toml\", # first\n  \"/b.toml\", \"" + drop + "\",\n]\nversion = 2\n"},
		{"missing key goes after the last top-level key", "# header\nversion = 2 # v\nroot = \"/r\"\n\n[grpc]\naddress = \"x\"\n",
			"# header\nversion = 2 # v\nroot = \"/r\"\nimports = [\"" + drop + "\"]\n\n[grpc]\naddress = \"x\"\n"},
		{"missing key, no top-level keys", "[grpc]\naddress = \"x\"\n",
			"imports = [\"" + drop + "\"]\n[grpc]\naddress = \"x\"\n"},
		{"imports inside a table is not the top-level one", "version = 2\n[x]\nimports = []\n",
			"version = 2\nimports = [\"" + drop + "\"]\n[x]\nimports = []\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, inserted, err := AppendToArray([]byte(tc.in), "imports", drop)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			m := decode(t, got)
			imports, _ := m["imports"].([]any)
			if len(imports) == 0 || imports[len(imports)-1] != drop {
				t.Errorf("imports = %v, want %s last", imports, drop)
			}
			back, ok := RemoveInserted(got, inserted)
			if !ok || string(back) != tc.in {
				t.Errorf("RemoveInserted(%q) = %q, %v; want the input back", inserted, back, ok)
			}
		})
	}
}

func TestAppendToArrayRefusesNonArray(t *testing.T) {
	_, _, err := AppendToArray([]byte("imports = \"x\"\n"), "imports", "/y")
	if err == nil || !strings.Contains(err.Error(), "not an array") {
		t.Fatalf("err = %v, want not an array", err)
	}
}

func TestAppendToArrayBadTOML(t *testing.T) {
	_, _, err := AppendToArray([]byte("version = 2\nimports = [\n"), "imports", "/y")
	if err == nil {
		t.Fatal("no error for an unterminated array")
	}
}

func TestRemoveInsertedNeedsOneOccurrence(t *testing.T) {
	data := []byte(`imports = ["/a", "/b", "/a", "/b"]`)
	if _, ok := RemoveInserted(data, `, "/b"`); ok {
		t.Error("removed text that occurs twice")
	}
	if _, ok := RemoveInserted(data, `"/zz"`); ok {
		t.Error("removed text that does not occur")
	}
}

func TestSetStrings(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		vals           map[string]string
		order          []string
	}{
		{"new file", "", "[runtimes]\nrunc = \"/usr/sbin/runc\"\n",
			map[string]string{"runc": "/usr/sbin/runc"}, []string{"runc"}},
		{"append table, keep the rest", "# mine\nevent_log = \"/l\" # keep\n",
			"# mine\nevent_log = \"/l\" # keep\n\n[runtimes]\nrunc = \"/usr/sbin/runc\"\n",
			map[string]string{"runc": "/usr/sbin/runc"}, []string{"runc"}},
		{"no final newline", "fail_mode = 'open'",
			"fail_mode = 'open'\n\n[runtimes]\nrunc = \"/r\"\n",
			map[string]string{"runc": "/r"}, []string{"runc"}},
		{"replace one value, add another", "[runtimes]\nrunc = '/old/runc' # real one\n\n[other]\nx = 1\n",
			"[runtimes]\nrunc = \"/usr/bin/runc\" # real one\ncrun = \"/usr/bin/crun\"\n\n[other]\nx = 1\n",
			map[string]string{"runc": "/usr/bin/runc", "crun": "/usr/bin/crun"}, []string{"runc", "crun"}},
		{"quoted key", "[runtimes]\n", "[runtimes]\n\"a.b\" = \"/x\"\n",
			map[string]string{"a.b": "/x"}, []string{"a.b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SetStrings([]byte(tc.in), "runtimes", tc.order, tc.vals)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got:\n%q\nwant:\n%q", got, tc.want)
			}
			m := decode(t, got)
			rt, _ := m["runtimes"].(map[string]any)
			want := map[string]any{}
			for k, v := range tc.vals {
				want[k] = v
			}
			if !reflect.DeepEqual(rt, want) {
				t.Errorf("runtimes = %v, want %v", rt, want)
			}
		})
	}
}

func TestSetStringsRefusesDottedTopLevel(t *testing.T) {
	_, err := SetStrings([]byte("runtimes.runc = \"/x\"\n"), "runtimes", []string{"runc"}, map[string]string{"runc": "/y"})
	if err == nil {
		t.Fatal("no error for a dotted top-level key")
	}
}

func TestQuote(t *testing.T) {
	q, err := Quote(`/a "b"\c`)
	if err != nil || q != `"/a \"b\"\\c"` {
		t.Errorf("Quote = %s, %v", q, err)
	}
	if _, err := Quote("a\nb"); err == nil {
		t.Error("newline accepted")
	}
}

func TestSetTopString(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "policy = \"/p\"\n"},
		{"after the last top-level key", "# c\nevent_log = '/l' # x\n\n[runtimes]\nrunc = '/r'\n",
			"# c\nevent_log = '/l' # x\npolicy = \"/p\"\n\n[runtimes]\nrunc = '/r'\n"},
		{"replace", "policy = '/old' # mine\n[runtimes]\n", "policy = \"/p\" # mine\n[runtimes]\n"},
		{"only a table", "# head\n\n[runtimes]\nrunc = '/r'\n", "# head\n\npolicy = \"/p\"\n[runtimes]\nrunc = '/r'\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SetTopString([]byte(tc.in), "policy", "/p")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got:\n%q\nwant:\n%q", got, tc.want)
			}
			if m := decode(t, got); m["policy"] != "/p" {
				t.Errorf("policy = %v", m["policy"])
			}
		})
	}
}
