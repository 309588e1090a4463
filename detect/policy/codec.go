package policy

import (
	"encoding/binary"
	"hash/fnv"

	"github.com/execguard/execguard/detect/policy/internal/spec"
)

// A cache entry is a header (format, path, revision, stat key), the spec in
// its binary form, and an FNV-1a 64 checksum of all that.

var cacheMagic = "egpolicy"

func encodeEntry(c *cacheEntry) []byte {
	e := &spec.Encoder{B: make([]byte, 0, 32<<10)}
	e.B = append(e.B, cacheMagic...)
	e.Uint(c.Format)
	e.Str(c.Path)
	e.Str(c.Revision)
	e.Str(c.StatKey)
	e.Spec(c.Spec)
	h := fnv.New64a()
	h.Write(e.B)
	return binary.LittleEndian.AppendUint64(e.B, h.Sum64())
}

func decodeEntry(data []byte) (*cacheEntry, error) {
	if len(data) < len(cacheMagic)+8 || string(data[:len(cacheMagic)]) != cacheMagic {
		return nil, spec.ErrCorrupt
	}
	body := data[:len(data)-8]
	h := fnv.New64a()
	h.Write(body)
	if h.Sum64() != binary.LittleEndian.Uint64(data[len(data)-8:]) {
		return nil, spec.ErrCorrupt
	}
	d := &spec.Decoder{S: string(body), Off: len(cacheMagic)}
	c := &cacheEntry{Format: d.Uint(), Path: d.Str(), Revision: d.Str(), StatKey: d.Str()}
	if d.Err || c.Format != cacheFormat {
		return nil, spec.ErrCorrupt
	}
	s, err := d.Spec()
	if err != nil || d.Off != len(d.S) {
		return nil, spec.ErrCorrupt
	}
	c.Spec = s
	return c, nil
}
