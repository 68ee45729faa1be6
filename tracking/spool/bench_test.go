package spool

import (
	"testing"
)

// BenchmarkAppend measures appends of 300-byte records (the size of an
// encoded activity), every append waiting for its fsync:
//
//   - sync-16: 16 goroutines appending one record each time (the durable
//     POST path); the group commit shares one fsync between them;
//
//   - batch-N: one goroutine appending N records per call (the path of the
//     middleware's events, collected for up to the spool window).
//
//     go test -run '^$' -bench Append -benchtime 200000x ./tracking/spool
func BenchmarkAppend(b *testing.B) {
	rec := make([]byte, 300)
	report := func(b *testing.B, s *Spool) {
		st := s.Stats()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(st.Appended)/float64(max(st.Fsyncs, 1)), "events/fsync")
	}
	open := func(b *testing.B) *Spool {
		s, _, err := Open(b.TempDir(), Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	b.Run("sync-16", func(b *testing.B) {
		s := open(b)
		b.SetParallelism(8) // 16 goroutines on 2 cores
		b.SetBytes(int64(len(rec)))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.Append(rec); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		report(b, s)
	})
	for _, n := range []int{100, 500} {
		b.Run("batch-"+itoa(n), func(b *testing.B) {
			s := open(b)
			batch := make([][]byte, n)
			for i := range batch {
				batch[i] = rec
			}
			b.SetBytes(int64(len(rec)))
			b.ResetTimer()
			for i := 0; i < b.N; i += n {
				if err := s.Append(batch[:min(n, b.N-i)]...); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			report(b, s)
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
