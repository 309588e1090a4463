package plugin

import "github.com/sirupsen/logrus"

// NewWithQueue is New with a write queue of size documents, so a test can
// fill it.
func NewWithQueue(s Settings, log *logrus.Logger, size int) (*Plugin, error) {
	p, err := New(s, log)
	if err == nil {
		p.queue = newWriteQueue(size)
	}
	return p, err
}
