package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/execguard/execguard/detect/policy"
	"github.com/execguard/execguard/detect/policy/policyfile"
)

// problemJSON is one error or note in --json output.
type problemJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

type checkJSON struct {
	File      string        `json:"file"`
	Valid     bool          `json:"valid"`
	Revision  string        `json:"revision,omitempty"`
	Selectors int           `json:"selectors"`
	Responses int           `json:"responses"`
	Errors    []problemJSON `json:"errors"`
	Notes     []problemJSON `json:"notes"`
}

func problems(es policy.Errors) []problemJSON {
	out := make([]problemJSON, 0, len(es))
	for _, e := range es {
		out = append(out, problemJSON{e.File, e.Line, e.Column, e.Key, e.Msg, e.Hint})
	}
	return out
}

func (a *app) checkCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check FILE...",
		Short: "check policy files: every error, with file, line and column",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("policy check: name the policy file to check")
			}
			return nil
		},
		RunE: a.action(func(_ *cobra.Command, files []string) (int, error) {
			return checkPolicies(files, asJSON, a.stdout)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON, one object per file")
	return cmd
}

// checkPolicies checks policy files and reports every problem of each.
func checkPolicies(files []string, asJSON bool, stdout io.Writer) (int, error) {
	code := exitOK
	var results []checkJSON
	for _, file := range files {
		res := checkJSON{File: file, Errors: []problemJSON{}, Notes: []problemJSON{}}
		p, err := policyfile.Load(file)
		if err != nil {
			code = exitPolicy
			var es policy.Errors
			if !errors.As(err, &es) {
				es = policy.Errors{{File: file, Msg: err.Error()}}
			}
			res.Errors = problems(es)
		} else {
			res.Valid = true
			res.Revision = p.Revision()
			res.Selectors = len(p.SelectorNames())
			res.Responses = p.NumResponses()
			res.Notes = problems(p.Notes())
		}
		results = append(results, res)
		if !asJSON {
			printCheck(stdout, res)
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		var v any = results
		if len(results) == 1 {
			v = results[0]
		}
		if err := enc.Encode(v); err != nil {
			return exitPolicy, err
		}
	}
	return code, nil
}

func printCheck(w io.Writer, r checkJSON) {
	for _, e := range r.Errors {
		fmt.Fprintln(w, "error: "+render(e))
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note: "+render(n))
	}
	if r.Valid {
		fmt.Fprintf(w, "%s: ok: %d selectors, %d responses, revision %s\n", r.File, r.Selectors, r.Responses, r.Revision)
	} else {
		fmt.Fprintf(w, "%s: invalid: %d %s\n", r.File, len(r.Errors), plural(len(r.Errors), "error", "errors"))
	}
}

func render(p problemJSON) string {
	return policy.Error{File: p.File, Line: p.Line, Column: p.Column, Key: p.Key, Msg: p.Message, Hint: p.Hint}.Error()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
