package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// rssChildEnv names the database a child process of BenchmarkPageCacheRSS
// reads; rssCacheEnv its writer and reader cache sizes in KiB ("w,r").
const (
	rssChildEnv = "SQLITE_BENCH_RSS_DATABASE"
	rssCacheEnv = "SQLITE_BENCH_RSS_CACHE"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(rssChildEnv); path != "" {
		if err := rssChild(path, os.Getenv(rssCacheEnv)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// BenchmarkPageCacheRSS measures the resident memory of a process that
// opens a database of 200,000 activities, 20,000 reports and 200,000
// recommendations and runs the read workload of the analytics routes on
// four readers at once (the report aggregations, activity pages near the
// start and in the middle, summaries, and a full export), with the page
// caches of before (64 MiB writer, 32 MiB per reader), twice the defaults,
// the defaults (8 MiB writer, 2 MiB per reader) and next to none (1 MiB).
// Each configuration runs in a fresh child process; it reports the
// resident set after the reads (rss-MB), its peak (peak-MB) and the time
// the reads took (reads-ms).
//
//	go test ./store/sqlite -run XXX -bench PageCacheRSS -benchtime 3x
func BenchmarkPageCacheRSS(b *testing.B) {
	path := testdb.SQLitePath(b)
	s, err := sqlite.Open(b.Context(), path, sqlite.Config{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := benchdata.Fill(b.Context(), s, benchdata.Config{Activities: 200_000, Reports: 20_000, Recommendations: 200_000}); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, caches string }{
		{"before-64MiB-4x32MiB", "65536,32768"},
		{"w16MiB-4x4MiB", "16384,4096"},
		{"default", "0,0"},
		{"w1MiB-4x1MiB", "1024,1024"},
	} {
		b.Run(c.name, func(b *testing.B) {
			var rss, peak, took float64
			n := 0
			for b.Loop() {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), rssChildEnv+"="+path, rssCacheEnv+"="+c.caches)
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("child: %v\n%s", err, out)
				}
				var r, p, t float64
				if _, err := fmt.Sscanf(lastLine(string(out)), "rss %f peak %f reads %f", &r, &p, &t); err != nil {
					b.Fatalf("child output %q: %v", out, err)
				}
				rss, peak, took, n = rss+r, peak+p, took+t, n+1
			}
			b.ReportMetric(rss/float64(n), "rss-MB")
			b.ReportMetric(peak/float64(n), "peak-MB")
			b.ReportMetric(took/float64(n), "reads-ms")
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// rssChild runs the read workload on the database at path and prints its
// resident set, peak resident set (MB) and the time the reads took (ms).
func rssChild(path, caches string) error {
	var w, r int
	if _, err := fmt.Sscanf(caches, "%d,%d", &w, &r); err != nil {
		return fmt.Errorf("parse %s: %w", rssCacheEnv, err)
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Config{CacheSize: w, ReaderCacheSize: r, SkipMigrate: true})
	if err != nil {
		return err
	}
	defer s.Close()
	end := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)
	cases := benchdata.DomainReads(ctx, s, end)
	cases = append(cases,
		benchdata.Case{Name: "page1", Fn: func() error {
			_, err := s.ActivityList(ctx, store.ActivityListParams{})
			return err
		}},
		benchdata.Case{Name: "offset", Fn: func() error {
			_, err := s.ActivityList(ctx, store.ActivityListParams{Offset: 100_000})
			return err
		}},
		benchdata.Case{Name: "summary", Fn: func() error {
			_, err := s.ActivitySummary(ctx, store.ActivitySummaryParams{GroupBy: store.GroupByUser,
				ActivityFilter: store.ActivityFilter{From: end.AddDate(0, 0, -90)}})
			return err
		}},
		benchdata.Case{Name: "export", Fn: func() error {
			return s.ActivityIterate(ctx, store.ActivityFilter{}, func(*store.Activity) error { return nil })
		}},
	)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range cases {
				c := cases[(i+g*3)%len(cases)]
				if err := c.Fn(); err != nil {
					errs <- fmt.Errorf("%s: %w", c.Name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		return err
	}
	runtime.GC()
	rss, peak, err := procRSS()
	if err != nil {
		return err
	}
	fmt.Printf("rss %.1f peak %.1f reads %.1f\n", rss, peak, float64(took.Microseconds())/1000)
	return nil
}

// procRSS reads VmRSS and VmHWM of this process, in MB.
func procRSS() (rss, peak float64, err error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			return 0, 0, err
		}
		if k == "VmRSS" {
			rss = kb / 1024
		} else {
			peak = kb / 1024
		}
	}
	return rss, peak, sc.Err()
}
