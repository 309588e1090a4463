package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/execguard/execguard/install"
)

const statusSynopsis = `status [flags]

Shows how this node stands: each engine detected and whether its handlers
run the wrapper, NRI, the NRI plugin's connection and coverage (wrapper in
use by N of M running containers), the policy in force and its revision,
whether the event log can be written. Exit status 1 when something is wrong.`

func runStatus(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("status", statusSynopsis, stderr)
	opts := nodeFlags(fs)
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if err := fs.Parse(args); err != nil {
		return flagResult(err)
	}
	if fs.NArg() > 0 {
		return exitUsage, usagef("status takes no arguments")
	}
	st, err := install.GetStatus(*opts)
	if err != nil {
		return exitNode, err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return exitNode, err
		}
	} else {
		fmt.Fprint(stdout, st.Text())
	}
	if !st.OK() {
		return exitNode, nil
	}
	return exitOK, nil
}
