package cli

import "context"

// runEmulateAsana runs `asanajira emulate asana`. args are the arguments after
// "emulate asana"; it returns when ctx is cancelled (SIGINT/SIGTERM) or on error.
func runEmulateAsana(ctx context.Context, args []string, env Env) error {
	_, _, _ = ctx, args, env
	return notBuilt("emulate asana", "the Asana emulator")
}
