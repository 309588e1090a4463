package core

import (
	"bytes"
	"errors"
	"io"
	"os"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/internal/plainfile"
	"github.com/execguard/execguard/runtime/ocispec"
)

// The fronts read specs through these: no size limit decides (package
// ocispec streams the document and keeps only the deciding fields), and a
// spec that could mean two things to two runtimes, keeps more than
// ocispec.MaxKept or is malformed (crun reads JSON with comments, which Go's
// decoder refuses) is hostile: the decision assumes the worst, a process
// with a terminal, so it is alerted and, under block, refused, container
// starts included. A spec that cannot be opened or read (missing) is a
// fault the fail mode decides; the runtime cannot open it either.

// ProcessFromSpec reads an exec's process spec from r (named what in
// problems) into f.Process.
func ProcessFromSpec(f *detect.Facts, what string, r io.Reader) {
	p, err := ocispec.DecodeProcess(r)
	if err != nil {
		f.Process = specProblem(f, "process spec", what, err)
		return
	}
	f.Process = fromOCI(p)
}

// ProcessFromFile is ProcessFromSpec on the file at path.
func ProcessFromFile(f *detect.Facts, path string) {
	file, err := plainfile.Open(path)
	if err != nil {
		f.AddProblem("process spec: %v", err)
		f.Process = detect.Process{}
		return
	}
	defer file.Close()
	ProcessFromSpec(f, path, specReader(file))
}

// ConfigFromFile reads a bundle's config.json at path: its annotations into
// f.Container and, when withProcess (a container start), its process into
// f.Process.
func ConfigFromFile(f *detect.Facts, path string, withProcess bool) {
	file, err := plainfile.Open(path)
	if err != nil {
		f.AddProblem("bundle config: %v", err)
		return
	}
	defer file.Close()
	ConfigFromSpec(f, path, specReader(file), withProcess)
}

// wholeSpecMax bounds the specs read whole before they are decoded.
const wholeSpecMax = 1 << 20

// specReader is what a spec file is decoded from: its bytes, read at once,
// when it is a regular file of at most wholeSpecMax bytes (the decoder then
// reads them in place, where from the file it reads 64 bytes, then 128 and
// so on, each into a new buffer: seven reads and as many allocations for a
// process spec of 800 bytes); the file itself otherwise, streamed. Either
// way the decoder sees the same bytes: a read that fails part way hands
// over what was read and then the error.
func specReader(file *os.File) io.Reader {
	fi, err := file.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > wholeSpecMax {
		return file
	}
	buf := make([]byte, 0, fi.Size()+1) // +1: the end is seen without growing
	for {
		n, err := file.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF:
			return bytes.NewBuffer(buf)
		case err != nil:
			return io.MultiReader(bytes.NewReader(buf), errReader{err})
		case len(buf) == cap(buf): // grown since the stat: stream the rest
			return io.MultiReader(bytes.NewReader(buf), file)
		}
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// ConfigFromSpec is ConfigFromFile on r, named what in problems.
func ConfigFromSpec(f *detect.Facts, what string, r io.Reader, withProcess bool) {
	c, err := ocispec.DecodeConfig(r)
	if err != nil {
		p := specProblem(f, "bundle config", what, err)
		if withProcess {
			f.Process = p
		}
		return
	}
	detect.ApplyAnnotations(&f.Container, c.Annotations)
	if !withProcess {
		return
	}
	if c.Process == nil {
		f.AddProblem("bundle config %s: no process", what)
		return
	}
	f.Process = fromOCI(*c.Process)
}

// specProblem records why a spec could not be used and returns the process
// a decision assumes: the worst for a hostile spec, unknown otherwise.
func specProblem(f *detect.Facts, kind, what string, err error) detect.Process {
	if errors.Is(err, ocispec.ErrAmbiguous) || errors.Is(err, ocispec.ErrTooLarge) || errors.Is(err, ocispec.ErrMalformed) {
		f.AddProblem("%s %s: hostile, decided as a process with a terminal: %v", kind, what, err)
		return detect.Process{Known: true, Terminal: true}
	}
	f.AddProblem("%s %s: %v", kind, what, err)
	return detect.Process{}
}

func fromOCI(p ocispec.Process) detect.Process {
	return detect.Process{
		Known: true, Args: p.Args, Env: p.Env, Cwd: p.Cwd, Terminal: p.Terminal, UID: p.UID, GID: p.GID,
		UserName: p.Username, ConsoleRows: p.ConsoleHeight, ConsoleColumns: p.ConsoleWidth,
	}
}
