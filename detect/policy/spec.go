package policy

// The spec is a policy as read from its file, before compilation: plain data
// with the position of everything in it. Parse produces it from YAML; the
// node cache stores it in a binary form (codec.go), much faster to read back.

type pos struct {
	Line int
	Col  int
}

type spec struct {
	Selectors []selectorSpec
	Responses []responseSpec
	// Notes are warnings found while reading: they do not make the policy
	// invalid.
	Notes Errors
}

type selectorSpec struct {
	Name  string
	Index int
	Pos   pos
	Conds []condSpec
}

// condSpec is one condition of a selector: its values, or its flag.
type condSpec struct {
	Key     string
	Pos     pos
	Values  []valueSpec
	Flag    bool
	Windows []windowSpec
	// Bad marks a condition that could not be read (an error says why):
	// compile skips it, but it still counts as written.
	Bad bool
}

type valueSpec struct {
	S   string
	Pos pos
}

type responseSpec struct {
	Index   int
	Pos     pos
	Match   []valueSpec
	Exclude []valueSpec
	Actions []valueSpec
	// Positions of the keys, for errors about the lists as a whole.
	MatchPos, ActionsPos pos
}
