package plugin

import (
	"time"

	"github.com/execguard/execguard/state"
)

// startInfo is what the end event of a container's init needs from its
// start: the wrapper's coverage mark, which holds the entity id and time of
// the wrapper's container-start event for that container.
type startInfo struct {
	EntityID    string    `json:"entity_id,omitempty"`
	Time        time.Time `json:"start,omitzero"`
	Interactive bool      `json:"interactive"`
	// Source says where the plugin learnt it: "mark" (the wrapper's
	// coverage mark) or "env" (a mark without start facts, from an older
	// wrapper: TERM=xterm only, no entity id to pair with).
	Source string `json:"source"`
	// EndsBy names the front that writes the container's end events
	// itself (the mark's ends_by); the plugin then writes none.
	EndsBy string `json:"ends_by,omitempty"`
}

const (
	sourceMark = "mark"
	sourceEnv  = "env"
)

// startFromMark is what a container's coverage mark tells of its start. A
// mark without an entity id (an older wrapper's empty mark) has nothing to
// pair with: the container counts as interactive when the runtime gave it
// TERM=xterm (tty), and its end event pairs by container id only.
func startFromMark(m state.Mark, tty bool) startInfo {
	if m.EntityID == "" {
		return startInfo{Interactive: tty, Source: sourceEnv}
	}
	// A time that does not parse leaves process.start out of the end event;
	// the entity id still pairs.
	t, _ := time.Parse(time.RFC3339Nano, m.Time)
	return startInfo{EntityID: m.EntityID, Time: t, Interactive: m.Interactive, Source: sourceMark, EndsBy: m.EndsBy}
}
