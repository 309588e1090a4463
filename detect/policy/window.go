package policy

import (
	"fmt"

	"github.com/execguard/execguard/detect/policy/internal/spec"
	"strconv"
	"strings"
	"time"
)

// window is a compiled maintenanceWindow. A window whose end is not after
// its start runs past midnight into the next day; days name the day it
// starts on.
type window struct {
	days       uint8 // bit i: time.Weekday(i)
	start, end int   // minutes since midnight; end is exclusive, up to 1440
	loc        *time.Location
}

func (w *window) contains(t time.Time) bool {
	lt := t.In(w.loc)
	m := lt.Hour()*60 + lt.Minute()
	day := uint8(1) << lt.Weekday()
	if w.start < w.end {
		return m >= w.start && m < w.end && w.days&day != 0
	}
	switch {
	case m >= w.start:
		return w.days&day != 0
	case m < w.end:
		yesterday := uint8(1) << ((lt.Weekday() + 6) % 7)
		return w.days&yesterday != 0
	}
	return false
}

func compileWindow(ws spec.Window, keyOf func() string, errs *spec.List) (window, bool) {
	w := window{days: 0x7f, start: 0, end: 24 * 60, loc: time.UTC}
	ok := true
	if len(ws.Days) == 0 && ws.Hours == "" {
		errs.Add(ws.Pos.Line, ws.Pos.Col, keyOf(), "a window needs days, hours or both", `e.g. {days: [sat, sun], hours: "02:00-04:00", timezone: Europe/Berlin}`)
		ok = false
	}
	if len(ws.Days) > 0 {
		w.days = 0
		for _, d := range ws.Days {
			wd, found := parseWeekday(d)
			if !found {
				errs.Add(ws.DaysPos.Line, ws.DaysPos.Col, keyOf()+".days", fmt.Sprintf("unknown day %q", d), "use mon, tue, wed, thu, fri, sat, sun")
				ok = false
				continue
			}
			w.days |= 1 << wd
		}
	}
	if ws.Hours != "" {
		start, end, msg := parseHours(ws.Hours)
		if msg != "" {
			errs.Add(ws.HoursPos.Line, ws.HoursPos.Col, keyOf()+".hours", msg, `write "HH:MM-HH:MM" in 24-hour time, e.g. "22:00-02:00"; "00:00-24:00" is the whole day`)
			ok = false
		}
		w.start, w.end = start, end
	}
	if ws.Timezone != "" {
		loc, msg, hint := loadZone(ws.Timezone)
		if msg != "" {
			errs.Add(ws.ZonePos.Line, ws.ZonePos.Col, keyOf()+".timezone", msg, hint)
			ok = false
		}
		w.loc = loc
	}
	return w, ok
}

func loadZone(name string) (*time.Location, string, string) {
	if name == "Local" {
		return nil, `time zone "Local" depends on the node`, "name the zone, e.g. Europe/Berlin or UTC, so the window means the same on every node"
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Sprintf("unknown time zone %q", name), "use an IANA zone name such as Europe/Berlin or UTC; the node needs its zone database (tzdata, /usr/share/zoneinfo)"
	}
	return loc, "", ""
}

func parseWeekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(s)
	for d := time.Sunday; d <= time.Saturday; d++ {
		full := strings.ToLower(d.String())
		if s == full || s == full[:3] {
			return d, true
		}
	}
	return 0, false
}

// parseHours reads "HH:MM-HH:MM" into minutes since midnight.
func parseHours(s string) (start, end int, msg string) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Sprintf("hours %q: want a range HH:MM-HH:MM", s)
	}
	var err1, err2 error
	start, err1 = parseClock(strings.TrimSpace(a), false)
	end, err2 = parseClock(strings.TrimSpace(b), true)
	switch {
	case err1 != nil:
		return 0, 0, fmt.Sprintf("hours %q: start: %v", s, err1)
	case err2 != nil:
		return 0, 0, fmt.Sprintf("hours %q: end: %v", s, err2)
	case start == end || (start == 0 && end == 0):
		return 0, 0, fmt.Sprintf("hours %q: the window is empty", s)
	}
	return start, end, ""
}

func parseClock(s string, isEnd bool) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) == 0 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && (mm != 0 || !isEnd)) {
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return hh*60 + mm, nil
}
