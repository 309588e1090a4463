package fsplan

import (
	"fmt"
	"strings"
)

// Diff renders the plan as unified diffs of text files and one line per
// binary file or symlink, in plan order.
func (p Plan) Diff() string {
	var b strings.Builder
	for _, s := range p.Steps {
		b.WriteString(StepDiff(s))
	}
	return b.String()
}

// StepDiff renders one step.
func StepDiff(s Step) string {
	var b strings.Builder
	from, to := s.Path, s.Path
	if s.Have.Kind == Absent {
		from = "/dev/null"
	}
	if s.Want.Kind == Absent {
		to = "/dev/null"
	}
	textual := func(st State) bool { return st.Kind == Absent || (st.Kind == File && !IsBinary(st.Data)) }
	if !textual(s.Have) || !textual(s.Want) {
		fmt.Fprintf(&b, "%s: %s -> %s\n", s.Path, describe(s.Have), describe(s.Want))
		return b.String()
	}
	if s.Have.Kind == File && s.Want.Kind == File && s.Have.Mode.Perm() != s.Want.Mode.Perm() {
		fmt.Fprintf(&b, "%s: mode %04o -> %04o\n", s.Path, s.Have.Mode.Perm(), s.Want.Mode.Perm())
	}
	hunks := Unified(string(s.Have.Data), string(s.Want.Data), 3)
	if hunks == "" {
		return b.String()
	}
	fmt.Fprintf(&b, "--- %s\n+++ %s\n%s", from, to, hunks)
	return b.String()
}

func describe(s State) string {
	switch s.Kind {
	case File:
		if IsBinary(s.Data) {
			return fmt.Sprintf("binary file, %d bytes, mode %04o, sha256 %s", len(s.Data), s.Mode.Perm(), s.Sum()[:16])
		}
		return fmt.Sprintf("text file, %d bytes, mode %04o", len(s.Data), s.Mode.Perm())
	case Symlink:
		return "symlink to " + s.Target
	}
	return "absent"
}

// Unified returns the hunks (from the first @@ line) of a unified diff of a
// and b with ctx lines of context, or "" when they are equal. A missing
// final newline is marked the way diff(1) marks it.
func Unified(a, b string, ctx int) string {
	if a == b {
		return ""
	}
	x, y := splitLines(a), splitLines(b)
	ops := lcsOps(x, y)

	// Group the edit script into hunks separated by more than 2*ctx equal lines.
	type span struct{ start, end int } // indexes into ops
	var spans []span
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start, end := i, i+1 // end: one past the hunk's last change
		for j := end; j < len(ops); {
			if ops[j].kind != ' ' {
				j++
				end = j
				continue
			}
			k := j
			for k < len(ops) && ops[k].kind == ' ' {
				k++
			}
			if k == len(ops) || k-j > 2*ctx {
				break
			}
			j = k
		}
		spans = append(spans, span{start, end})
		i = end
	}
	var out strings.Builder
	for _, sp := range spans {
		lo := max(sp.start-ctx, 0)
		hi := min(sp.end+ctx, len(ops))
		// Line numbers at lo.
		ax, by := 1, 1
		for _, o := range ops[:lo] {
			if o.kind != '+' {
				ax++
			}
			if o.kind != '-' {
				by++
			}
		}
		var na, nb int
		for _, o := range ops[lo:hi] {
			if o.kind != '+' {
				na++
			}
			if o.kind != '-' {
				nb++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(ax, na), hunkRange(by, nb))
		for _, o := range ops[lo:hi] {
			out.WriteByte(o.kind)
			out.WriteString(strings.TrimSuffix(o.line, "\n"))
			out.WriteByte('\n')
			if !strings.HasSuffix(o.line, "\n") {
				out.WriteString("\\ No newline at end of file\n")
			}
		}
	}
	return out.String()
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start-1)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}

// splitLines keeps each line's newline, so a missing final one shows.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

type op struct {
	kind byte // ' ', '-', '+'
	line string
}

// lcsOps is a longest-common-subsequence edit script; configuration files
// are small enough for the quadratic table.
func lcsOps(x, y []string) []op {
	n, m := len(x), len(y)
	t := make([][]int32, n+1)
	for i := range t {
		t[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				t[i][j] = t[i+1][j+1] + 1
			} else {
				t[i][j] = max(t[i+1][j], t[i][j+1])
			}
		}
	}
	var ops []op
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case x[i] == y[j]:
			ops = append(ops, op{' ', x[i]})
			i++
			j++
		case t[i+1][j] >= t[i][j+1]:
			ops = append(ops, op{'-', x[i]})
			i++
		default:
			ops = append(ops, op{'+', y[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, op{'-', x[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, op{'+', y[j]})
	}
	return ops
}
