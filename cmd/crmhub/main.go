// Command crmhub is the one binary of crmhub: it serves the GraphQL API
// (serve), manages the schema (migrate) and lets an operator create
// workspaces and API keys (workspace, apikey). Run "crmhub help" for usage.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal a second one kills the process at once.
		<-ctx.Done()
		stop()
	}()
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
