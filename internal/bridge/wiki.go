package bridge

import "strings"

// WikiFromAsana converts a task's plain-text notes to Jira wiki markup:
// characters Jira would read as markup (macros, links, tables) are escaped
// so the description shows the text as written in Asana.
func WikiFromAsana(notes string) string {
	notes = strings.ReplaceAll(notes, "\r\n", "\n")
	var b strings.Builder
	for i, line := range strings.Split(notes, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(wikiEscaper.Replace(line))
	}
	return strings.TrimSpace(b.String())
}

var wikiEscaper = strings.NewReplacer(`{`, `\{`, `}`, `\}`, `[`, `\[`, `]`, `\]`, `|`, `\|`)
