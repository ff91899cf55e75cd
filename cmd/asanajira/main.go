// Command asanajira connects Asana with self-managed Jira Server and Data Center.
//
// Every subcommand lives in internal/cli; this file only wires the process
// (arguments, standard streams, signals) to it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/asanajira/asanajira/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
	})
	stop()
	os.Exit(code)
}
