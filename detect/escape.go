package detect

import "bytes"

// escapeControls rewrites the control characters encoding/json leaves raw
// inside strings, DEL (U+007F) and the C1 controls (U+0080-U+009F, which
// some terminals read as escape sequences: U+009B is CSI), as \u escapes, so
// a terminal showing the log cannot be driven by a container's arguments.
// JSON's own syntax is plain ASCII, so these only ever occur in strings.
func escapeControls(buf []byte) []byte {
	if !hasControls(buf) {
		return buf
	}
	out := make([]byte, 0, len(buf)+32)
	for i := 0; i < len(buf); i++ {
		switch b := buf[i]; {
		case b == 0x7f:
			out = append(out, `\u007f`...)
		case b == 0xc2 && i+1 < len(buf) && buf[i+1] >= 0x80 && buf[i+1] <= 0x9f:
			out = append(out, `\u00`...)
			out = append(out, hexDigit(buf[i+1]>>4), hexDigit(buf[i+1]&0xf))
			i++
		default:
			out = append(out, b)
		}
	}
	return out
}

func hasControls(buf []byte) bool {
	if bytes.IndexByte(buf, 0x7f) >= 0 {
		return true
	}
	for i := bytes.IndexByte(buf, 0xc2); i >= 0 && i+1 < len(buf); {
		if c := buf[i+1]; c >= 0x80 && c <= 0x9f {
			return true
		}
		next := bytes.IndexByte(buf[i+1:], 0xc2)
		if next < 0 {
			return false
		}
		i += 1 + next
	}
	return false
}

func hexDigit(n byte) byte { return "0123456789abcdef"[n] }
