package cli

import "context"

// runEmulateJira runs `asanajira emulate jira`. args are the arguments after
// "emulate jira"; it returns when ctx is cancelled (SIGINT/SIGTERM) or on error.
func runEmulateJira(ctx context.Context, args []string, env Env) error {
	_, _, _ = ctx, args, env
	return notBuilt("emulate jira", "the Jira emulator")
}
