package loadgen

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: every power of two is split into
// 2^(subBits-1) buckets, so a recorded value is off by at most 1/64 (1.6 %).
const subBits = 7

// histBuckets covers every non-negative int64 number of nanoseconds.
const histBuckets = (64-subBits+1)<<(subBits-1) + 1<<(subBits-1)

// histogram is a fixed-size log-linear latency histogram (in the manner of
// HdrHistogram): its memory does not grow with the number of values.
type histogram struct {
	counts [histBuckets]int64
	n      int64
	sum    time.Duration
	max    time.Duration
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
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	h.sum += d
	if d > h.max {
		h.max = d
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile returns the value at quantile q (0 < q ≤ 1): the upper bound of
// the bucket holding the ⌈q·n⌉-th smallest value, never above the maximum.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.999999)
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(bucketHigh(i)), h.max)
		}
	}
	return h.max
}

func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}
