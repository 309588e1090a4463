// Command execguard-runtime is the OCI runtime wrapper. Install it under the
// name of the runtime it stands in for (execguard-runc, or runc in a
// directory of its own) and configure the real runtime's path in
// /etc/execguard/config.toml.
package main

import (
	"os"

	"github.com/execguard/execguard/runtime"
)

func main() {
	os.Exit(runtime.Main(os.Args))
}
