package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildVersion is set at link time (make build: -ldflags "-X
// main.buildVersion=..."); empty in a plain go build.
var buildVersion string

// version is the linked-in version, else the module version Go recorded,
// else the VCS revision, else "devel".
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			return "devel-" + s.Value
		}
	}
	return "devel"
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print execguard's version",
		Args:  noArgs,
		RunE: a.action(func(*cobra.Command, []string) (int, error) {
			fmt.Fprintf(a.stdout, "execguard %s (%s, %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return exitOK, nil
		}),
	}
}
