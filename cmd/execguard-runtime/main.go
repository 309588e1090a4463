// Command execguard-runtime is the OCI runtime wrapper. Install it under the
// name of the runtime it stands in for (execguard-runc, or runc in a
// directory of its own) and configure the real runtime's path in
// /etc/execguard/config.toml.
//
// The wrapper lives for a millisecond or two on every runtime call. The Go
// runtime's start-up work for long-lived programs is switched off, as it is
// for any program whose go.mod predates it: sizing GOMAXPROCS from the
// cgroup's CPU limit (three files read and mountinfo parsed before main),
// a goroutine that keeps it up to date, and naming every anonymous mapping.
// A single-threaded decision needs none of them.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
//go:debug decoratemappings=0
package main

import (
	"os"

	"github.com/execguard/execguard/runtime"
)

func main() {
	os.Exit(runtime.Main(os.Args))
}
