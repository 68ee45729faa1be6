package tracking

import (
	"context"
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
		if err := rec.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if st := rec.Stats(); st.Written != int64(b.N) {
			b.Fatalf("written %d of %d", st.Written, b.N)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
