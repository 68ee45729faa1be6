package loadgen

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestBucketsCoverValuesWithinPrecision(t *testing.T) {
	values := []uint64{0, 1, 63, 64, 127, 128, 129, 255, 256, 1000, 1 << 20, 1<<20 + 1, 1<<40 - 1, 1<<63 - 1, 1<<64 - 1}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		values = append(values, r.Uint64()>>r.IntN(64))
	}
	for _, v := range values {
		i := bucketOf(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d, outside [0, %d)", v, i, histBuckets)
		}
		high := bucketHigh(i)
		if high < v {
			t.Fatalf("bucketHigh(bucketOf(%d)) = %d, below the value", v, high)
		}
		if i > 0 && bucketHigh(i-1) >= v {
			t.Fatalf("value %d also fits bucket %d (high %d)", v, i-1, bucketHigh(i-1))
		}
		if v >= 128 && float64(high-v) > float64(v)/64 {
			t.Fatalf("bucket of %d ends at %d: more than 1/64 above", v, high)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	var all []time.Duration
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		d := time.Duration(r.ExpFloat64() * float64(time.Millisecond))
		all = append(all, d)
		h.record(d)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 1} {
		exact := all[int(q*float64(len(all))+0.999999)-1]
		got := h.quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/64 {
			t.Errorf("quantile(%v) = %v, want %v (+1/64 at most)", q, got, exact)
		}
	}
	if h.maximum() != all[len(all)-1] {
		t.Errorf("max = %v, want %v", h.maximum(), all[len(all)-1])
	}
	var empty histogram
	if got := empty.quantile(0.5); got != 0 {
		t.Errorf("empty quantile = %v, want 0", got)
	}
}

func TestHistogramConcurrentRecords(t *testing.T) {
	var h histogram
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				h.record(time.Duration(w*1000+i) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	if n, maxv, mean := h.n.Load(), h.maximum(), h.mean(); n != 8000 || maxv != 7999*time.Microsecond || mean != 3999500*time.Nanosecond {
		t.Errorf("n %d, max %v, mean %v; want 8000, 7.999ms, 3.9995ms", n, maxv, mean)
	}
	var total int64
	for i := range h.counts {
		total += h.counts[i].Load()
	}
	if total != 8000 {
		t.Errorf("buckets hold %d values, want 8000", total)
	}
}

func TestCheckLoopbackHost(t *testing.T) {
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1", true},
		{"127.1.2.3", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"localhost", true},
		{"LocalHost", true},
		{"", false},
		{"0.0.0.0", false},
		{"::", false},
		{"10.0.0.1", false},
		{"192.168.1.10", false},
		{"2001:db8::1", false},
		{"example.com", false},
		{"localhost.example.com", false},
		{"127.0.0.1.nip.io", false},
	} {
		t.Run(tc.host, func(t *testing.T) {
			err := checkLoopbackHost(tc.host)
			if tc.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrNotLoopback) {
				t.Errorf("error = %v, want ErrNotLoopback", err)
			}
		})
	}
}

func TestLoopbackOnlyDial(t *testing.T) {
	for _, tc := range []struct {
		address string
		ok      bool
	}{
		{"127.0.0.1:80", true},
		{"127.9.9.9:8080", true},
		{"[::1]:443", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"10.1.2.3:80", false},
		{"93.184.216.34:80", false},
		{"[2001:db8::1]:80", false},
		{"0.0.0.0:80", false},
	} {
		t.Run(tc.address, func(t *testing.T) {
			err := loopbackOnly("tcp", tc.address, nil)
			if tc.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrNotLoopback) {
				t.Errorf("error = %v, want ErrNotLoopback", err)
			}
		})
	}
}
