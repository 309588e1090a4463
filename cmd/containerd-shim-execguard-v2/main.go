// Command containerd-shim-execguard-v2 is execguard's containerd shim
// (runtime type io.containerd.execguard.v2): containerd's runc shim with
// execguard deciding every container start and exec before runc runs it.
package main

import (
	"context"

	"github.com/execguard/execguard/runtime/shim"
)

func main() {
	shim.Run(context.Background())
}
