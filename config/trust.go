package config

import (
	"io/fs"

	"github.com/execguard/execguard/internal/trust"
)

// CheckTrusted reports why a file the wrapper takes orders from (its
// configuration, a policy) must not be trusted: it must be owned by root, or
// by the user the wrapper runs as, and not writable by group or others.
// Anyone who can write it could otherwise redirect the root-run wrapper's
// writes or switch detection off.
func CheckTrusted(path string, fi fs.FileInfo) error {
	return trust.Check(path, fi)
}
