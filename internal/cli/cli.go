// Package cli holds what the commands share: their exit statuses and the
// way main runs them.
package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses of the commands.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Main runs run with a context that SIGINT or SIGTERM cancels and exits
// the process with the status run returns.
func Main(run func(ctx context.Context) int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx)
	stop()
	os.Exit(code)
}
