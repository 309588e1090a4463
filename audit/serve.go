package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/sirupsen/logrus"

	"github.com/execguard/execguard/eventlog"
)

// maxBatch bounds one batch the API server posts.
const maxBatch = 64 << 20

// Receiver is an audit webhook backend: the API server posts EventLists to
// it (--audit-webhook-config-file), and it appends each event as one JSON
// line to Log, the format of --audit-log-format json, which Join reads.
type Receiver struct {
	Log    string
	Logger *logrus.Logger
}

// ServeHTTP takes one batch. A batch is written in one append, so a reader
// never sees part of it; an error answers 500 and the API server retries.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST an audit EventList", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBatch+1))
	if err != nil || len(body) > maxBatch {
		http.Error(w, "cannot read the batch", http.StatusBadRequest)
		return
	}
	buf, n, err := Lines(body)
	if err != nil {
		rc.logger().WithError(err).Warn("audit batch refused")
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(buf) > 0 {
		if err := eventlog.Append(rc.Log, buf); err != nil {
			rc.logger().WithError(err).Error("audit batch not written")
			http.Error(w, "cannot write the audit log", http.StatusInternalServerError)
			return
		}
	}
	rc.logger().WithField("events", n).Debug("audit batch written")
	w.WriteHeader(http.StatusOK)
}

func (rc *Receiver) logger() *logrus.Logger {
	if rc.Logger != nil {
		return rc.Logger
	}
	return logrus.StandardLogger()
}

// Lines turns an EventList into audit log lines, one compact event each.
func Lines(body []byte) ([]byte, int, error) {
	var list EventList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, 0, fmt.Errorf("audit batch: %w", err)
	}
	if list.Kind != "" && list.Kind != "EventList" {
		return nil, 0, fmt.Errorf("audit batch: kind %q, want EventList", list.Kind)
	}
	var buf bytes.Buffer
	for i, item := range list.Items {
		if err := json.Compact(&buf, item); err != nil {
			return nil, 0, fmt.Errorf("audit batch: item %d: %w", i, err)
		}
		buf.WriteByte('\n')
	}
	return buf.Bytes(), len(list.Items), nil
}
