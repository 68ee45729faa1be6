package periodic

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		var calls []time.Duration
		done := make(chan struct{})
		go func() {
			defer close(done)
			Run(ctx, time.Second, func(ctx context.Context) {
				calls = append(calls, time.Since(start))
				if len(calls) == 3 {
					cancel()
				}
			})
		}()
		<-done
		want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
		if len(calls) != len(want) {
			t.Fatalf("calls at %v, want %v", calls, want)
		}
		for i := range want {
			if calls[i] != want[i] {
				t.Fatalf("calls at %v, want %v", calls, want)
			}
		}
	})
}

func TestRunStopsWhenCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		Run(ctx, time.Millisecond, func(context.Context) { t.Error("called after cancel") })
	})
}
