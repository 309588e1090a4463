package eql

//go:generate go run ./internal/genbuiltin -o builtin_gen.go

// Builtin returns the query compiled from exactly src when it is one of execguard's built-in
// rules' queries, compiled when execguard was built (builtin_gen.go), and false otherwise.
// The query is shared: like every Query, it is immutable.
func Builtin(src string) (*Query, bool) {
	for _, q := range builtinQueries {
		if q.src == src {
			return q, true
		}
	}
	return nil, false
}
