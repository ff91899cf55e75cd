package cli

import "context"

func runServe(ctx context.Context, args []string, env Env) error   { return notBuilt("serve", "") }
func runDemo(ctx context.Context, args []string, env Env) error    { return notBuilt("demo", "") }
func runDoctor(ctx context.Context, args []string, env Env) error  { return notBuilt("doctor", "") }
func runKeys(ctx context.Context, args []string, env Env) error    { return notBuilt("keys", "") }
func runSecrets(ctx context.Context, args []string, env Env) error { return notBuilt("secrets", "") }
func runMigrate(ctx context.Context, args []string, env Env) error { return notBuilt("migrate", "") }
func runVersion(ctx context.Context, args []string, env Env) error { return notBuilt("version", "") }
