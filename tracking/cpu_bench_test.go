//go:build linux

package tracking

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// processCPU is the CPU time (user and system) this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresCPU is the CPU time of every process named postgres on this
// machine (the test database's server, when it runs here), from /proc in
// clock ticks of 10 ms.
func postgresCPU() time.Duration {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open || s[open+1:closing] != "postgres" {
			continue
		}
		f := strings.Fields(s[closing+1:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64) // utime: field 14 of stat
		k, _ := strconv.ParseInt(f[12], 10, 64) // stime: field 15
		ticks += u + k
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// BenchmarkTrackedCPU measures the CPU a tracked request costs end to end:
// the Middleware, the Recorder's queue, the batch encoding and the insert
// with its counter tables, in a real store, until Close has written every
// event. It reports µs of CPU per event (cpu-µs/event): this process's
// CPU, plus the PostgreSQL server's on PostgreSQL (db-cpu-µs/event, read
// from /proc, so the server must run on this machine), less a same-run
// baseline of the bare handler serving the same requests. Run with a
// fixed count so each store sees enough events:
//
//	go test ./tracking -run XXX -bench TrackedCPU -benchtime 200000x
func BenchmarkTrackedCPU(b *testing.B) {
	body := []byte("ok")
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	ident := Identity{UserID: "00000000-0000-4000-8000-000000000001", Username: "alice", FullName: "Alice Doe"}
	req := httptest.NewRequest("POST", "/api/v1/reports/"+reportID+"/download/", nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) benchmark")
	req.RemoteAddr = "203.0.113.9:4567"
	serve := func(b *testing.B, h http.Handler) time.Duration {
		w := &discardResponse{h: http.Header{}}
		start := processCPU(b)
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
		return processCPU(b) - start
	}
	var bare time.Duration
	var bareN int
	b.Run("bare", func(b *testing.B) {
		bare, bareN = serve(b, app), b.N
		b.ReportMetric(float64(bare.Microseconds())/float64(b.N), "cpu-µs/event")
	})
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			s := d.open(b)
			rec, err := NewRecorder(s, RecorderConfig{Writers: d.writers, FullPolicy: Block, BlockTimeout: time.Minute, Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			if err := rec.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			mw, err := NewMiddleware(MiddlewareConfig{Recorder: rec, Logger: quietLogger(),
				Identify: func(*http.Request) (Identity, bool) { return ident, true }})
			if err != nil {
				b.Fatal(err)
			}
			h := mw(app)
			db := postgresCPU()
			start := processCPU(b)
			w := &discardResponse{h: http.Header{}}
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
			closeWritten(b, rec)
			used := processCPU(b) - start
			perBare := 0.0
			if bareN > 0 {
				perBare = float64(bare.Microseconds()) / float64(bareN)
			}
			b.ReportMetric(float64(used.Microseconds())/float64(b.N)-perBare, "cpu-µs/event")
			if d.name == "postgres" {
				b.ReportMetric(float64((postgresCPU()-db).Microseconds())/float64(b.N), "db-cpu-µs/event")
			}
		})
	}
}
