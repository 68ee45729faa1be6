// Package periodic calls a function at a fixed interval until its context
// ends.
package periodic

import (
	"context"
	"time"
)

// Run calls fn every interval, the first time one interval after it starts,
// and returns when ctx ends. A call that overruns the interval delays the
// next one instead of piling calls up.
func Run(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}
