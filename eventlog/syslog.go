package eventlog

import (
	"fmt"

	"github.com/execguard/execguard/internal/diaglog"
)

// reportLoss tells the node's system log that an event was lost, so a loss
// is on record even when the state directory cannot count it. It is
// best effort and costs nothing unless a record is lost.
func (l Log) reportLoss(err error) {
	diaglog.Syslog(l.Syslog, "error", fmt.Sprintf("event lost: %v", err))
}
