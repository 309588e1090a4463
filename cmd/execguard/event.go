package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/execguard/execguard/detect"
)

// sampleEvent is what policy test reads from an event: the fields of
// execguard's events, which are also those of D4C process events.
type sampleEvent struct {
	Timestamp string `json:"@timestamp"`
	Event     struct {
		Action string `json:"action"`
	} `json:"event"`
	Process *struct {
		Args        []string `json:"args"`
		Executable  string   `json:"executable"`
		Interactive *bool    `json:"interactive"`
		User        *struct {
			ID json.RawMessage `json:"id"`
		} `json:"user"`
	} `json:"process"`
	Container struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Image struct {
			Name string `json:"name"`
			Tag  string `json:"tag"`
		} `json:"image"`
	} `json:"container"`
	Orchestrator struct {
		Namespace string `json:"namespace"`
		Cluster   struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"cluster"`
		Resource struct {
			Name  string          `json:"name"`
			Label json.RawMessage `json:"label"`
		} `json:"resource"`
	} `json:"orchestrator"`
	Execguard struct {
		Stdin     string `json:"stdin"`
		Operation string `json:"operation"`
	} `json:"execguard"`
}

// callsFromEvents reads one call per JSON document (NDJSON). Alert lines,
// which repeat their event line, are skipped.
func callsFromEvents(file string, data []byte) ([]call, error) {
	var calls []call
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(text, &raw); err != nil {
			// One pretty-printed document spread over lines.
			if line == 1 && json.Valid(bytes.TrimSpace(data)) {
				c, err := callFromEvent(file, bytes.TrimSpace(data))
				if err != nil {
					return nil, err
				}
				return []call{c}, nil
			}
			return nil, fmt.Errorf("%s:%d: not a JSON object: %v", file, line, err)
		}
		var kind struct {
			Event struct {
				Kind string `json:"kind"`
			} `json:"event"`
		}
		_ = json.Unmarshal(text, &kind)
		if kind.Event.Kind == "alert" {
			continue
		}
		c, err := callFromEvent(fmt.Sprintf("%s:%d", file, line), text)
		if err != nil {
			return nil, err
		}
		calls = append(calls, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if len(calls) == 0 {
		return nil, fmt.Errorf("%s: no event in the file", file)
	}
	return calls, nil
}

func callFromEvent(source string, doc []byte) (call, error) {
	var ev sampleEvent
	if err := json.Unmarshal(doc, &ev); err != nil {
		return call{}, fmt.Errorf("%s: %v", source, err)
	}
	c := call{source: source, at: time.Now()}
	f := &c.facts
	switch ev.Event.Action {
	case "exec", "":
		f.Operation = detect.OpExec
		// execguard.operation tells a container's first process (event.action
		// exec, as Defend for Containers records it) from an exec.
		if ev.Execguard.Operation == string(detect.OpContainerStart) {
			f.Operation = detect.OpContainerStart
		}
	case "container-start":
		f.Operation = detect.OpContainerStart
	default:
		return c, fmt.Errorf("%s: event.action %q is neither exec nor container-start", source, ev.Event.Action)
	}
	if ev.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
		if err != nil {
			return c, fmt.Errorf("%s: @timestamp %q: %v", source, ev.Timestamp, err)
		}
		c.at = t
	}
	if p := ev.Process; p != nil {
		f.Process.Args = p.Args
		if len(f.Process.Args) == 0 && p.Executable != "" {
			f.Process.Args = []string{p.Executable}
		}
		f.Process.Known = len(f.Process.Args) > 0
		if p.Interactive != nil {
			f.Process.Terminal = *p.Interactive
		}
		if st := detect.Stdin(ev.Execguard.Stdin); st == detect.StdinAttached || st == detect.StdinNone {
			f.Stdin = st
		}
		if p.User != nil && len(p.User.ID) > 0 {
			var s string
			if json.Unmarshal(p.User.ID, &s) != nil {
				s = string(p.User.ID)
			}
			uid, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return c, fmt.Errorf("%s: process.user.id %s is not a numeric id", source, p.User.ID)
			}
			f.Process.UID = uint32(uid)
		}
	}
	f.Container.ID, f.Container.Name = ev.Container.ID, ev.Container.Name
	if ev.Container.Image.Name != "" {
		f.Container.Image = ev.Container.Image.Name
		if t := ev.Container.Image.Tag; t != "" {
			if strings.HasPrefix(t, "sha256:") {
				f.Container.Image += "@" + t
			} else {
				f.Container.Image += ":" + t
			}
		}
	}
	f.Container.PodNamespace = ev.Orchestrator.Namespace
	f.Container.PodName = ev.Orchestrator.Resource.Name
	f.Cluster = detect.Cluster{ID: ev.Orchestrator.Cluster.ID, Name: ev.Orchestrator.Cluster.Name}
	labels, err := parseLabels(ev.Orchestrator.Resource.Label)
	if err != nil {
		return c, fmt.Errorf("%s: orchestrator.resource.label: %v", source, err)
	}
	f.Container.PodLabels = labels
	return c, nil
}

// parseLabels reads labels as execguard writes them (an object) or as D4C
// does (an array of "key:value").
func parseLabels(raw json.RawMessage) (map[string]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) == nil {
		return m, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("want an object or a list of key:value strings")
	}
	m = map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			return nil, fmt.Errorf("%q is not key:value", kv)
		}
		m[k] = v
	}
	return m, nil
}

func formatLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}
