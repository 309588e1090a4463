package runtime

import (
	"golang.org/x/sys/unix"

	"github.com/execguard/execguard/detect"
)

// Stdin sources, execguard.stdin_source: what fd 0 of the runtime call is.
const (
	SourceNull      = "null"      // /dev/null: no stdin was requested
	SourceClosed    = "closed"    // fd 0 is not open
	SourcePipe      = "pipe"      // a pipe: stdin requested (exec -i, ctr task exec, stdin: true)
	SourceSocket    = "socket"    // a socket
	SourceFile      = "file"      // a regular file
	SourceTTY       = "tty"       // a terminal device
	SourceCharDev   = "chardev"   // another character device
	SourceDirectory = "directory" // a directory: nothing can be read
	SourceOther     = "other"     // a block device, or a type fstat does not name
	SourceError     = "error"     // fstat failed otherwise
)

// nullDev is /dev/null's device number on Linux, unix.Mkdev(1, 3).
const nullDev = 1<<8 | 3

// GatherStdin records what the started process's stdin is: a terminal when
// its spec asks for one (the terminal then comes through the console socket
// or is fd 0 itself), else what fd 0 of this call is. The source always
// says what fd 0 is.
func GatherStdin(f *detect.Facts) {
	if f.Operation != detect.OpExec && f.Operation != detect.OpContainerStart {
		return
	}
	stdinFacts(f, readStdin)
}

func stdinFacts(f *detect.Facts, read func() (detect.Stdin, string)) {
	f.Stdin, f.StdinSource = read()
	if f.Process.Known && f.Process.Terminal {
		f.Stdin = detect.StdinTerminal
	}
}

// readStdin classifies fd 0 of the wrapper, which the real runtime inherits
// and hands to the process it starts (unless a console socket gives it a
// terminal). One fstat; fd 0 is never read, and nothing else is done to it.
func readStdin() (detect.Stdin, string) {
	var st unix.Stat_t
	err := unix.Fstat(0, &st)
	return classifyStdin(&st, err)
}

// classifyStdin says what a stat of fd 0 (or its error) means.
func classifyStdin(st *unix.Stat_t, err error) (detect.Stdin, string) {
	switch {
	case err == unix.EBADF:
		return detect.StdinNone, SourceClosed
	case err != nil:
		return detect.StdinUnknown, SourceError
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		switch {
		case st.Rdev == nullDev:
			return detect.StdinNone, SourceNull
		case ttyMajor(unix.Major(st.Rdev)):
			return detect.StdinAttached, SourceTTY
		}
		return detect.StdinAttached, SourceCharDev
	case unix.S_IFIFO:
		return detect.StdinAttached, SourcePipe
	case unix.S_IFSOCK:
		return detect.StdinAttached, SourceSocket
	case unix.S_IFREG:
		return detect.StdinAttached, SourceFile
	case unix.S_IFDIR:
		return detect.StdinNone, SourceDirectory
	}
	return detect.StdinAttached, SourceOther
}

// ttyMajor reports whether a character device major number is a terminal's:
// virtual consoles and serial lines (4), /dev/tty and /dev/ptmx (5), the
// legacy BSD pty slaves (3) and the Unix98 pty slaves (136-143).
func ttyMajor(major uint32) bool {
	return major == 3 || major == 4 || major == 5 || (major >= 136 && major <= 143)
}
