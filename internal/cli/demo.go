package cli

import "context"

// runDemo runs `asanajira demo`.
func runDemo(context.Context, []string, Env) error {
	return notBuilt("demo", "the one-machine demo (Jira and Asana emulators wired to the bridge)")
}
