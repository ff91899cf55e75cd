package doctor

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report as a table for a terminal: one row per check
// with its status, title and evidence, the fix under failed and warned
// checks, and a summary line.
func (r Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	head := "Jira " + r.JiraURL
	if r.ConnectTo != "" {
		head += " (connecting to " + r.ConnectTo + ")"
	}
	if r.Version != "" {
		head += ", version " + r.Version
	}
	fmt.Fprintln(bw, head)
	fmt.Fprintln(bw)
	width := 0
	for _, c := range r.Checks {
		width = max(width, len([]rune(c.Title)))
	}
	indent := strings.Repeat(" ", 4+2+width+2)
	for _, c := range r.Checks {
		label := strings.ToUpper(string(c.Status))
		lines := strings.Split(strings.TrimRight(c.Evidence, "\n"), "\n")
		fmt.Fprintf(bw, "%-4s  %s%s  %s\n", label, c.Title, strings.Repeat(" ", width-len([]rune(c.Title))), lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(bw, "%s%s\n", indent, l)
		}
		if c.Fix != "" && (c.Status == StatusFail || c.Status == StatusWarn) {
			fmt.Fprintf(bw, "%sFix: %s\n", indent, c.Fix)
		}
	}
	n := r.Counts()
	fmt.Fprintln(bw)
	fmt.Fprintf(bw, "%d checks: %d passed, %d warnings, %d failed, %d skipped.\n", len(r.Checks), n[StatusPass], n[StatusWarn], n[StatusFail], n[StatusSkip])
	if r.OK {
		fmt.Fprintln(bw, "Jira is ready for asanajira as far as the checks that ran can tell.")
	} else {
		fmt.Fprintln(bw, "Fix the failed checks, then run the doctor again.")
	}
	return bw.Flush()
}
