package webhook

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/execguard/execguard/detect"
)

// Dataset is the data stream of the webhook's decisions. It is not the
// runtime's cloud_defend.process: an admitted exec is not yet a process
// start, and the runtime's event of the same exec follows on the node.
const Dataset = "execguard.admission"

// Agent is agent.name on the webhook's documents.
const Agent = "execguard-webhook"

// doc is one decision, in ECS.
type doc struct {
	Timestamp    string       `json:"@timestamp"`
	ECS          ecsDoc       `json:"ecs"`
	Event        eventDoc     `json:"event"`
	User         userDoc      `json:"user"`
	Process      *processDoc  `json:"process,omitempty"`
	Container    containerDoc `json:"container"`
	Orchestrator orchDoc      `json:"orchestrator"`
	Agent        agentDoc     `json:"agent"`
	DataStream   streamDoc    `json:"data_stream"`
	CloudDefend  *cdDoc       `json:"cloud_defend,omitempty"`
	Execguard    egDoc        `json:"execguard"`
}

type ecsDoc struct {
	Version string `json:"version"`
}

type eventDoc struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Category []string `json:"category"`
	Type     []string `json:"type"`
	Action   string   `json:"action"`
	Outcome  string   `json:"outcome"`
	Dataset  string   `json:"dataset"`
	Module   string   `json:"module"`
	Reason   string   `json:"reason,omitempty"`
	Created  string   `json:"created"`
}

type userDoc struct {
	Name  string   `json:"name"`
	ID    string   `json:"id,omitempty"`
	Group groupDoc `json:"group"`
}

type groupDoc struct {
	Name []string `json:"name"`
}

type processDoc struct {
	Name        string   `json:"name,omitempty"`
	Executable  string   `json:"executable,omitempty"`
	Args        []string `json:"args,omitempty"`
	ArgsCount   int      `json:"args_count,omitempty"`
	CommandLine string   `json:"command_line,omitempty"`
	Interactive bool     `json:"interactive"`
	User        *idDoc   `json:"user,omitempty"`
}

type idDoc struct {
	ID string `json:"id"`
}

type containerDoc struct {
	Name  string    `json:"name,omitempty"`
	Image *imageDoc `json:"image,omitempty"`
}

type imageDoc struct {
	Name string `json:"name"`
	Tag  string `json:"tag,omitempty"`
}

type orchDoc struct {
	Type      string      `json:"type"`
	Namespace string      `json:"namespace,omitempty"`
	Cluster   *clusterDoc `json:"cluster,omitempty"`
	Resource  resDoc      `json:"resource"`
}

type clusterDoc struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

type resDoc struct {
	Name  string            `json:"name,omitempty"`
	Type  string            `json:"type"`
	Label map[string]string `json:"label,omitempty"`
}

type agentDoc struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type streamDoc struct {
	Type      string `json:"type"`
	Dataset   string `json:"dataset"`
	Namespace string `json:"namespace"`
}

type cdDoc struct {
	MatchedSelectors []string `json:"matched_selectors"`
}

type egDoc struct {
	Action         string `json:"action"`
	Reason         string `json:"reason,omitempty"`
	Stdin          string `json:"stdin,omitempty"`
	PolicyRevision string `json:"policy_revision,omitempty"`
	PolicyError    string `json:"policy_error,omitempty"`
	// AdmissionUID is the admission request's uid; Subresource and
	// Operation are what the API server was asked.
	AdmissionUID string `json:"admission_uid"`
	Subresource  string `json:"subresource"`
	Operation    string `json:"operation"`
	DryRun       bool   `json:"dry_run,omitempty"`
}

// appendDecision appends the decision's line to buf: event.type allowed or
// denied, with who asked.
// Arguments are recorded through red, as the runtime's events are.
func appendDecision(buf []byte, now time.Time, req *admissionv1.AdmissionRequest, c call, d detect.Decision, policyErr string, red *detect.Redactor) []byte {
	f := c.req.Facts
	ts := now.UTC().Format(time.RFC3339Nano)
	groups := req.UserInfo.Groups
	if groups == nil {
		groups = []string{}
	}
	dd := doc{
		Timestamp: ts,
		ECS:       ecsDoc{Version: detect.ECSVersion},
		Event: eventDoc{
			ID: string(req.UID) + "/" + f.Container.Name, Kind: "event", Category: []string{"process"},
			Type: []string{"allowed"}, Action: c.action, Outcome: "success",
			Dataset: Dataset, Module: "execguard", Created: ts,
		},
		User:      userDoc{Name: req.UserInfo.Username, ID: req.UserInfo.UID, Group: groupDoc{Name: groups}},
		Container: containerDoc{Name: f.Container.Name},
		Orchestrator: orchDoc{Type: "kubernetes", Namespace: f.Container.PodNamespace,
			Resource: resDoc{Name: f.Container.PodName, Type: "pod", Label: f.Container.PodLabels}},
		Agent:      agentDoc{Type: "execguard", Name: Agent},
		DataStream: streamDoc{Type: "logs", Dataset: Dataset, Namespace: "default"},
		Execguard: egDoc{
			Action: string(d.Action), Reason: d.Reason, Stdin: string(f.StdinKind()),
			PolicyRevision: d.PolicyRevision, PolicyError: policyErr,
			AdmissionUID: string(req.UID), Subresource: req.SubResource, Operation: string(req.Operation),
			DryRun: req.DryRun != nil && *req.DryRun,
		},
	}
	if d.Block {
		dd.Event.Type, dd.Event.Outcome, dd.Event.Reason = []string{"denied"}, "failure", d.Reason
	}
	if f.Container.Image != "" {
		name, tag := splitImage(f.Container.Image)
		dd.Container.Image = &imageDoc{Name: name, Tag: tag}
	}
	if f.Cluster != (detect.Cluster{}) {
		dd.Orchestrator.Cluster = &clusterDoc{ID: f.Cluster.ID, Name: f.Cluster.Name}
	}
	if len(d.Selectors) > 0 {
		dd.CloudDefend = &cdDoc{MatchedSelectors: d.Selectors}
	}
	p := &processDoc{Interactive: d.Interactive}
	if c.argsKnown && len(f.Process.Args) > 0 {
		p.Name = f.Process.Name()
		if strings.HasPrefix(f.Process.Args[0], "/") {
			p.Executable = f.Process.Args[0]
		}
		args := red.Args(f.Process.Args)
		p.Args, p.ArgsCount, p.CommandLine = args, len(args), strings.Join(args, " ")
	}
	if c.req.UIDKnown {
		p.User = &idDoc{ID: strconv.FormatUint(uint64(f.Process.UID), 10)}
	}
	dd.Process = p
	line, err := json.Marshal(&dd)
	if err != nil {
		// Every field is a string, a bool or a list of strings.
		panic("webhook: encode decision: " + err.Error())
	}
	buf = append(buf, line...)
	return append(buf, '\n')
}

// splitImage splits a reference into name and tag (or digest).
func splitImage(ref string) (name, tag string) {
	if i := strings.LastIndexByte(ref, '@'); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	slash := strings.LastIndexByte(ref, '/')
	if i := strings.LastIndexByte(ref, ':'); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}
