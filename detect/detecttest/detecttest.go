// Package detecttest checks encoded records the way readers of the event log
// depend on them; it is for tests.
package detecttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// CheckRecord reports what is wrong with buf as one record of the event
// log: it must be whole lines of valid UTF-8, each one JSON object, with no
// raw control character (C0, DEL or C1) that a terminal showing the log would act on.
func CheckRecord(buf []byte) error {
	if len(buf) == 0 || buf[len(buf)-1] != '\n' {
		return fmt.Errorf("record does not end in a newline")
	}
	if !utf8.Valid(buf) {
		return fmt.Errorf("record is not valid UTF-8")
	}
	for i, line := range bytes.Split(buf[:len(buf)-1], []byte("\n")) {
		for _, r := range string(line) {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
				return fmt.Errorf("line %d holds raw control character %U", i+1, r)
			}
		}
		var doc map[string]any
		if err := json.Unmarshal(line, &doc); err != nil {
			return fmt.Errorf("line %d is not a JSON object: %v", i+1, err)
		}
	}
	return nil
}
