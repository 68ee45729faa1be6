package benchdata

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestActivityOffsetInOrder(t *testing.T) {
	span := 365 * 24 * time.Hour
	rng := rand.New(rand.NewPCG(1, 42))
	opts := Config{Activities: 10_000, InOrder: true}
	prev := time.Duration(-1)
	for i := range opts.Activities {
		d := activityOffset(rng, i, opts, span)
		if d < 0 || d >= span {
			t.Fatalf("activity %d at %v, outside [0, %v)", i, d, span)
		}
		if d <= prev {
			t.Fatalf("activity %d at %v, not after activity %d at %v", i, d, i-1, prev)
		}
		prev = d
	}
	// In random order the times are not sorted.
	opts.InOrder = false
	sorted := true
	prev = -1
	for i := range 100 {
		d := activityOffset(rng, i, opts, span)
		sorted = sorted && d > prev
		prev = d
	}
	if sorted {
		t.Error("100 random offsets came out sorted")
	}
}
