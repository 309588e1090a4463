package detect

// The ECS document, shaped like Elastic Defend for Containers process events.
// Field order follows ECS reading order; empty optional fields are omitted.

type document struct {
	Timestamp    string           `json:"@timestamp"`
	ECS          ecsDoc           `json:"ecs"`
	Event        eventDoc         `json:"-"` // encoded on its own, see Encode
	Process      *processDoc      `json:"process,omitempty"`
	Container    containerDoc     `json:"container"`
	Orchestrator *orchestratorDoc `json:"orchestrator,omitempty"`
	Host         hostDoc          `json:"host"`
	Cloud        *cloudDoc        `json:"cloud,omitempty"`
	Agent        agentDoc         `json:"agent"`
	// DataStream differs between an event and its alerts, so each line
	// encodes its own (see appendLine).
	DataStream  dataStreamDoc   `json:"-"`
	Error       *errorDoc       `json:"error,omitempty"`
	CloudDefend *cloudDefendDoc `json:"cloud_defend,omitempty"`
	Execguard   execguardDoc    `json:"execguard"`
}

type ecsDoc struct {
	Version string `json:"version"`
}

type eventDoc struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Category  []string `json:"category"`
	Type      []string `json:"type"`
	Action    string   `json:"action"`
	Outcome   string   `json:"outcome"`
	Dataset   string   `json:"dataset"`
	Module    string   `json:"module"`
	Severity  int      `json:"severity,omitempty"`
	RiskScore int      `json:"risk_score,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	// Duration is an end event's process run time in nanoseconds.
	Duration int64  `json:"duration,omitempty"`
	Created  string `json:"created"`
	Ingested string `json:"ingested"`
}

type processDoc struct {
	PID              uint32     `json:"pid,omitempty"`
	EntityID         string     `json:"entity_id,omitempty"`
	Name             string     `json:"name,omitempty"`
	Executable       string     `json:"executable,omitempty"`
	Args             []string   `json:"args,omitempty"`
	ArgsCount        int        `json:"args_count,omitempty"`
	CommandLine      string     `json:"command_line,omitempty"`
	WorkingDirectory string     `json:"working_directory,omitempty"`
	EnvVars          []string   `json:"env_vars,omitempty"`
	Interactive      *bool      `json:"interactive,omitempty"`
	Start            string     `json:"start,omitempty"`
	End              string     `json:"end,omitempty"`
	ExitCode         *int32     `json:"exit_code,omitempty"`
	TTY              *ttyDoc    `json:"tty,omitempty"`
	User             *idDoc     `json:"user,omitempty"`
	Group            *idDoc     `json:"group,omitempty"`
	EntryLeader      *leaderDoc `json:"entry_leader,omitempty"`
	SessionLeader    *leaderDoc `json:"session_leader,omitempty"`
	GroupLeader      *leaderDoc `json:"group_leader,omitempty"`
	Parent           *parentDoc `json:"parent,omitempty"`
	Truncated        bool       `json:"-"`
}

type idDoc struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

type ttyDoc struct {
	CharDevice *charDeviceDoc `json:"char_device,omitempty"`
	Rows       uint32         `json:"rows,omitempty"`
	Columns    uint32         `json:"columns,omitempty"`
}

type charDeviceDoc struct {
	Major uint32 `json:"major"`
	Minor uint32 `json:"minor"`
}

type leaderDoc struct {
	PID           uint32        `json:"pid,omitempty"`
	EntityID      string        `json:"entity_id,omitempty"`
	Start         string        `json:"start,omitempty"`
	Name          string        `json:"name,omitempty"`
	Executable    string        `json:"executable,omitempty"`
	Args          []string      `json:"args,omitempty"`
	Interactive   *bool         `json:"interactive,omitempty"`
	User          *idDoc        `json:"user,omitempty"`
	SameAsProcess bool          `json:"same_as_process"`
	EntryMeta     *entryMetaDoc `json:"entry_meta,omitempty"`
}

type entryMetaDoc struct {
	Type string `json:"type"`
}

type parentDoc struct {
	PID        int    `json:"pid,omitempty"`
	Name       string `json:"name,omitempty"`
	Executable string `json:"executable,omitempty"`
}

type containerDoc struct {
	ID      string    `json:"id,omitempty"`
	Name    string    `json:"name,omitempty"`
	Image   *imageDoc `json:"image,omitempty"`
	Runtime string    `json:"runtime,omitempty"`
}

type imageDoc struct {
	Name string `json:"name"`
	Tag  string `json:"tag,omitempty"`
}

type orchestratorDoc struct {
	Type      string      `json:"type"`
	Namespace string      `json:"namespace,omitempty"`
	Cluster   *clusterDoc `json:"cluster,omitempty"`
	Resource  resourceDoc `json:"resource"`
}

type clusterDoc struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

type cloudDefendDoc struct {
	MatchedSelectors []string `json:"matched_selectors"`
}

type resourceDoc struct {
	Name  string            `json:"name,omitempty"`
	Type  string            `json:"type"`
	ID    string            `json:"id,omitempty"`
	Label map[string]string `json:"label,omitempty"`
}

type hostDoc struct {
	Name     string `json:"name,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	ID       string `json:"id,omitempty"`
	OS       osDoc  `json:"os"`
}

type cloudDoc struct {
	Instance cloudInstanceDoc `json:"instance"`
}

type cloudInstanceDoc struct {
	Name string `json:"name"`
}

type osDoc struct {
	Type string `json:"type"`
}

type agentDoc struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type dataStreamDoc struct {
	Type      string `json:"type"`
	Dataset   string `json:"dataset"`
	Namespace string `json:"namespace"`
}

type errorDoc struct {
	Message string `json:"message"`
}

type execguardDoc struct {
	// Operation tells a container's init (container-start) from an exec
	// (exec); event.action is exec for both, as Defend for Containers
	// records a container's first process.
	Operation  string `json:"operation,omitempty"`
	Subcommand string `json:"subcommand,omitempty"`
	Action     string `json:"action"`
	FailMode   string `json:"fail_mode,omitempty"`
	Reason     string `json:"reason,omitempty"`
	ExecID     string `json:"exec_id,omitempty"`
	ExecKind   string `json:"exec_kind,omitempty"`
	// Stdin is terminal, attached or none (Facts.StdinKind); StdinSource
	// what the front saw; StdinShell marks an attached-stdin shell.
	Stdin          string `json:"stdin,omitempty"`
	StdinSource    string `json:"stdin_source,omitempty"`
	StdinShell     bool   `json:"stdin_shell,omitempty"`
	Caller         string `json:"caller,omitempty"`
	Bundle         string `json:"bundle,omitempty"`
	Manager        string `json:"manager,omitempty"`
	Type           string `json:"container_type,omitempty"`
	PolicyError    string `json:"policy_error,omitempty"`
	PolicyRevision string `json:"policy_revision,omitempty"`
	// MatchedRules names the detection rules whose queries matched.
	MatchedRules   []string `json:"matched_rules,omitempty"`
	ImageDigest    string   `json:"image_digest,omitempty"`
	RuntimeHandler string   `json:"runtime_handler,omitempty"`
	SandboxID      string   `json:"sandbox_id,omitempty"`
	// Pairing says how an end event pairs with its start: "entity_id" or,
	// when the start's entity id is unknown, "container.id".
	Pairing string `json:"pairing,omitempty"`
	// Detected says when an end was seen later than it happened ("resync").
	Detected  string `json:"detected,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`

	// TerminalRequested: the exec's process spec asks for a terminal nobody
	// is at (conmon gives a CRI-O ExecSync on a tty container one), so the
	// process is not interactive.
	TerminalRequested bool `json:"terminal_requested,omitempty"`

	// Recorded: the session's terminal output is recorded (text_output
	// documents with its process.entity_id, and a cast).
	Recorded bool `json:"recorded,omitempty"`
}

// PolicyAlertRuleID names alerts a policy raises on anything but an
// interactive entry leader; cloud_defend.matched_selectors says which
// selectors matched.
const PolicyAlertRuleID = "7b8e1f0a-3c55-4d2e-9a61-5f0d2c4b8e17"

// policyAlertMembers are the members such an alert adds to its event.
const policyAlertMembers = `"rule":{"id":"` + PolicyAlertRuleID + `","uuid":"` + PolicyAlertRuleID + `",` +
	`"name":"execguard policy alert","description":"A process start matched an execguard policy response whose actions include alert; cloud_defend.matched_selectors names the selectors.",` +
	`"category":"Policy","ruleset":"execguard"},` +
	`"kibana":{"alert":{"severity":"medium","risk_score":47,"rule":{"rule_id":"` + PolicyAlertRuleID + `","name":"execguard policy alert"}}}`

// The attached-stdin shell rule: a shell without a terminal whose stdin is
// attached (crictl exec -i, podman exec -i, ctr task exec, crictl attach -i).
const (
	StdinShellRuleID   = "33445560-70c1-4ad9-9b9c-7e4eea06fc97"
	StdinShellRuleName = "Shell with attached stdin in container"
	// StdinShellRuleDescription is the rule's description, as in its TOML.
	StdinShellRuleDescription = "A shell or command interpreter reading its commands from stdin was started without a terminal as the entry leader of a session in a running container, with stdin attached, as crictl exec -i, podman exec -i, ctr task exec or crictl attach -i to a container created with stdin give: a working shell that process.interactive does not show."
)

// stdinShellAlertMembers are the members an attached-stdin shell alert adds
// to its event; TestAlertMembers checks they decode.
const stdinShellAlertMembers = `"rule":{"id":"` + StdinShellRuleID + `","uuid":"` + StdinShellRuleID + `","name":"` + StdinShellRuleName + `",` +
	`"description":"` + StdinShellRuleDescription + `",` +
	`"category":"Execution","ruleset":"execguard","reference":"https://attack.mitre.org/techniques/T1609/"},` +
	`"threat":{"framework":"MITRE ATT&CK",` +
	`"tactic":{"id":["TA0002"],"name":["Execution"],"reference":["https://attack.mitre.org/tactics/TA0002/"]},` +
	`"technique":{"id":["T1059","T1609"],"name":["Command and Scripting Interpreter","Container Administration Command"],` +
	`"reference":["https://attack.mitre.org/techniques/T1059/","https://attack.mitre.org/techniques/T1609/"],` +
	`"subtechnique":{"id":["T1059.004"],"name":["Unix Shell"],"reference":["https://attack.mitre.org/techniques/T1059/004/"]}}},` +
	`"kibana":{"alert":{"severity":"` + RuleSeverity + `","risk_score":73,"rule":{"rule_id":"` + StdinShellRuleID + `","name":"` + StdinShellRuleName + `"}}}`

// alertMembers are the members an alert adds to its event: the seed rule,
// its ATT&CK mapping and the severity Elastic's alerts carry. They never
// change, so they are JSON text; TestAlertMembers checks they decode.
const alertMembers = `"rule":{"id":"` + RuleID + `","uuid":"` + RuleID + `","name":"` + RuleName + `",` +
	`"description":"An interactive (terminal) process was started as the entry leader of a session in a running container, as kubectl exec -it, crictl exec -it or a debug container do.",` +
	`"category":"Execution","ruleset":"execguard","reference":"https://attack.mitre.org/techniques/T1609/"},` +
	`"threat":{"framework":"MITRE ATT&CK",` +
	`"tactic":{"id":["TA0002"],"name":["Execution"],"reference":["https://attack.mitre.org/tactics/TA0002/"]},` +
	`"technique":{"id":["T1059","T1609"],"name":["Command and Scripting Interpreter","Container Administration Command"],` +
	`"reference":["https://attack.mitre.org/techniques/T1059/","https://attack.mitre.org/techniques/T1609/"],` +
	`"subtechnique":{"id":["T1059.004"],"name":["Unix Shell"],"reference":["https://attack.mitre.org/techniques/T1059/004/"]}}},` +
	`"kibana":{"alert":{"severity":"` + RuleSeverity + `","risk_score":73,"rule":{"rule_id":"` + RuleID + `","name":"` + RuleName + `"}}}`
