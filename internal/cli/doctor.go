package cli

import "context"

// runDoctor runs `asanajira doctor`.
func runDoctor(context.Context, []string, Env) error {
	return notBuilt("doctor", "the Jira connectivity checks")
}
