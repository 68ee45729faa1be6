package tracking

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkSpoolDrain measures how fast a Recorder writes to SQLite events a
// store outage left in its spool (drain), beside the same number of events
// pushed through the in-memory path with the store up (memory), in the same
// run. ns/op is per event.
//
//	go test -run '^$' -bench SpoolDrain -benchtime 100000x ./tracking
func BenchmarkSpoolDrain(b *testing.B) {
	fill := func(rec *Recorder, n int) {
		for i := range n {
			a := act(i)
			a.Metadata = map[string]any{"i": i, "path": "/api/v1/reports/"}
			for !rec.Enqueue(a) {
				time.Sleep(time.Millisecond)
			}
		}
	}
	b.Run("memory", func(b *testing.B) {
		s := drivers[0].open(b)
		rec, err := NewRecorder(s, RecorderConfig{Logger: quietLogger(), FullPolicy: Block, BlockTimeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		rec.Start(context.Background())
		b.ResetTimer()
		fill(rec, b.N)
		if err := rec.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("drain", func(b *testing.B) {
		s := drivers[0].open(b)
		g := &gateWriter{ActivityWriter: s}
		g.down.Store(true)
		dir := b.TempDir()
		rec, err := NewRecorder(g, RecorderConfig{Logger: quietLogger(), SpoolDir: dir, FullPolicy: Block, BlockTimeout: time.Minute,
			RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		rec.Start(context.Background())
		fill(rec, b.N)
		for rec.Stats().Spool.Held < int64(b.N) {
			time.Sleep(time.Millisecond)
		}
		b.ResetTimer()
		g.down.Store(false)
		closeWritten(b, rec)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkRecordDurable measures Recorder.Record with a spool (each call
// returns after its fsync; 16 goroutines share them) over a store that
// discards, beside Enqueue (the in-memory path) in the same run. It reports
// events/s and the p50/p99 latency of one call.
//
//	go test -run '^$' -bench RecordDurable -benchtime 100000x ./tracking
func BenchmarkRecordDurable(b *testing.B) {
	for _, tc := range []struct {
		name    string
		spooled bool
	}{{"enqueue", false}, {"record-spool", true}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := RecorderConfig{Logger: quietLogger(), QueueSize: 1 << 20, BatchSize: 500}
			if tc.spooled {
				cfg.SpoolDir = b.TempDir()
			}
			rec, err := NewRecorder(discardWriter{}, cfg)
			if err != nil {
				b.Fatal(err)
			}
			rec.Start(context.Background())
			defer rec.Close(context.Background())
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(8) // 16 goroutines on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				i := 0
				for pb.Next() {
					i++
					a := act(i)
					a.Metadata = map[string]any{"tab": "cost"}
					start := time.Now()
					if tc.spooled {
						if err := rec.Record(context.Background(), a); err != nil {
							b.Error(err)
							return
						}
					} else if !rec.Enqueue(a) {
						b.Error("enqueue refused")
						return
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			if st := rec.Stats(); st.Spool != nil {
				b.ReportMetric(float64(st.Spool.Appended)/float64(max(st.Spool.Fsyncs, 1)), "events/fsync")
			}
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}
