package plugin

import (
	"time"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/state"
)

// The plugin's documents are built by detect, in the wrapper's shape.
const (
	CoverageRuleID   = detect.CoverageRuleID
	CoverageRuleName = detect.CoverageRuleName
	ActionCoverage   = detect.ActionCoverage
	ActionEnd        = detect.ActionEnd
	agentName        = "execguard-nri"
)

// docContext is what every plugin document says of the node.
type docContext struct {
	host    detect.Host
	cluster detect.Cluster
	// namespace is data_stream.namespace.
	namespace string
	// redactor rewrites recorded arguments (nil: as they are).
	redactor *detect.Redactor
}

func (dc docContext) lifecycle(now time.Time, r state.Container) detect.Lifecycle {
	l := detect.Lifecycle{Cluster: dc.cluster, Host: dc.host, Time: now, Agent: agentName, Namespace: dc.namespace}
	r.Apply(&l.Container)
	return l
}

// coverageAlert is the alert for a running container without the wrapper's
// coverage mark.
func (dc docContext) coverageAlert(now time.Time, r state.Container, reason string) ([]byte, error) {
	return detect.EncodeCoverageAlert(dc.lifecycle(now, r), reason)
}

// endEvent is the end of a container's init that was an interactive entry
// leader; it pairs with the wrapper's container-start event by container.id
// and, when the mark gave it, process.entity_id.
func (dc docContext) endEvent(now time.Time, r state.Container, si startInfo, args []string, exit *int32, detected string) ([]byte, error) {
	e := detect.End{Lifecycle: dc.lifecycle(now, r), Args: dc.redactor.Args(args), StartEntityID: si.EntityID, ExitCode: exit, Detected: detected}
	if !si.Time.IsZero() {
		e.StartTime = si.Time.UTC().Format(time.RFC3339Nano)
	}
	return detect.EncodeEnd(e)
}
