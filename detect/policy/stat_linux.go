package policy

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// racyWindow is how old a file's last change must be before its stat key is
// trusted. File times come from a coarse clock, so two writes close together
// can leave the same times and size: like git's "racily clean" entries, a
// recently changed file is always read and hashed.
const racyWindow = 2 * time.Second

// statKey identifies a file's current content without reading it: device,
// inode, size, and change and modification times. It is "" when the file
// changed too recently to be trusted, or cannot be stat'ed.
func statKey(path string, now time.Time) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	ctime := time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	mtime := time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
	if now.Sub(ctime) < racyWindow || now.Sub(mtime) < racyWindow {
		return ""
	}
	return fmt.Sprintf("%d:%d:%d:%d:%d", st.Dev, st.Ino, st.Size, ctime.UnixNano(), mtime.UnixNano())
}
