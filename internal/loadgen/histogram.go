package loadgen

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// subBits sets the histogram's precision: every power of two is split into
// 2^(subBits-1) buckets, so a recorded value is off by at most 1/64 (1.6 %).
const subBits = 7

// histBuckets covers every non-negative int64 number of nanoseconds.
const histBuckets = (64-subBits+1)<<(subBits-1) + 1<<(subBits-1)

// histogram is a fixed-size log-linear latency histogram (in the manner of
// HdrHistogram): its memory does not grow with the number of values. It is
// safe for concurrent use; a record is a few atomic additions.
type histogram struct {
	counts [histBuckets]atomic.Int64
	n      atomic.Int64
	sum    atomic.Int64 // nanoseconds
	max    atomic.Int64 // nanoseconds
}

func bucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	shift := bits.Len64(v) - subBits
	return shift<<(subBits-1) + int(v>>shift)
}

// bucketHigh is the largest value that falls in bucket i.
func bucketHigh(i int) uint64 {
	if i < 1<<subBits {
		return uint64(i)
	}
	shift := i>>(subBits-1) - 1
	m := uint64(i - shift<<(subBits-1))
	return (m+1)<<shift - 1
}

func (h *histogram) record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(uint64(v))].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// quantile returns the value at quantile q (0 < q ≤ 1): the upper bound of
// the bucket holding the ⌈q·n⌉-th smallest value, never above the maximum.
// It must not race with record.
func (h *histogram) quantile(q float64) time.Duration {
	n, maxv := h.n.Load(), h.maximum()
	if n == 0 {
		return 0
	}
	rank := int64(q*float64(n) + 0.999999)
	rank = min(max(rank, 1), n)
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(time.Duration(bucketHigh(i)), maxv)
		}
	}
	return maxv
}

func (h *histogram) mean() time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

func (h *histogram) maximum() time.Duration { return time.Duration(h.max.Load()) }
