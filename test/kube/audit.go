package kube

// auditPolicy records exec, attach and ephemeral container requests with
// their request (RequestResponse), pod creations and deletions (Metadata),
// and nothing else. RequestReceived is left out: an exec is then written
// twice, at ResponseStarted and ResponseComplete.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: RequestResponse
  resources:
  - group: ""
    resources: [pods/exec, pods/attach, pods/ephemeralcontainers]
- level: Metadata
  verbs: [create, delete]
  resources:
  - group: ""
    resources: [pods]
- level: None
`

// apiServerExtraArgs are the apiserver flags the options add.
func (c *Cluster) apiServerExtraArgs() ([]string, error) {
	var args []string
	if c.opts.AuditLog {
		policy := c.path("audit-policy.yaml")
		if err := writeFile(policy, auditPolicy); err != nil {
			return nil, err
		}
		c.AuditLog = c.path("audit.log")
		args = append(args, "--audit-policy-file", policy, "--audit-log-path", c.AuditLog,
			"--audit-log-format", "json", "--audit-log-mode", "blocking")
	}
	return append(args, c.opts.APIServerArgs...), nil
}
