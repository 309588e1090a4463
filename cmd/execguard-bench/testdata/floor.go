// Command floor is the least a Go runtime wrapper can do: exec the real
// runtime with the arguments it was given. execguard-bench builds it with
// the target's path and compares the wrapper to it.
package main

import (
	"os"
	"syscall"
)

// target is set at build time (-ldflags -X main.target=...).
var target string

func main() {
	argv := append([]string(nil), os.Args...)
	argv[0] = target
	err := syscall.Exec(target, argv, os.Environ())
	os.Stderr.WriteString("floor: exec " + target + ": " + err.Error() + "\n")
	os.Exit(127)
}
