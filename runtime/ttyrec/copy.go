package ttyrec

import "io"

// CopyBufferBytes is the copy's read size: a pipe's default capacity, so one
// read takes what the terminal copy wrote while the last write went out.
const CopyBufferBytes = 64 << 10

// Copy copies src to dst until src ends, offering each piece to rec after
// dst has it: the terminal's client never waits for the recording. It
// returns the bytes copied and the first error other than src's end.
func Copy(dst io.Writer, src io.Reader, rec *Recording) (int64, error) {
	buf := make([]byte, CopyBufferBytes)
	var total int64
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			w, werr := dst.Write(buf[:n])
			total += int64(w)
			if rec != nil {
				rec.Write(buf[:n])
			}
			if werr != nil {
				return total, werr
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}
