package sysinfo

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/syncbuf"
	"github.com/google/go-cmp/cmp"
)

// makeTree writes files of the given sizes under root.
func makeTree(t *testing.T, root string, sizes map[string]int) {
	t.Helper()
	for name, size := range sizes {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte{'x'}, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// storageTree builds two storage directories holding 100+2,000+30,000 and
// 7 bytes, links pointing at 1 MB outside them, and returns the
// directories.
func storageTree(t *testing.T) (uploads, reports string) {
	t.Helper()
	base := t.TempDir()
	uploads = filepath.Join(base, "uploads")
	reports = filepath.Join(base, "reports")
	makeTree(t, uploads, map[string]int{"a.csv": 100, "2026/11/b.csv": 2000, "2026/12/c.csv": 30000})
	makeTree(t, reports, map[string]int{"r.pdf": 7})
	makeTree(t, base, map[string]int{"outside/big.bin": 1 << 20})
	if err := os.MkdirAll(filepath.Join(uploads, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct{ target, name string }{
		{filepath.Join(base, "outside/big.bin"), filepath.Join(uploads, "link-to-file")},
		{filepath.Join(base, "outside"), filepath.Join(reports, "link-to-dir")},
	} {
		if err := os.Symlink(l.target, l.name); err != nil {
			t.Fatal(err)
		}
	}
	return uploads, reports
}

const storageTreeBytes = 100 + 2000 + 30000 + 7

func newSizer(t *testing.T, dirs []string, opts DirSizerConfig) *DirSizer {
	t.Helper()
	s, err := NewDirSizer(dirs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDirSizerMeasure(t *testing.T) {
	uploads, reports := storageTree(t)
	missing := filepath.Join(t.TempDir(), "does-not-exist")
	tests := []struct {
		name string
		dirs []string
		want int64
	}{
		{"both", []string{uploads, reports}, storageTreeBytes},
		{"one", []string{uploads}, 32100},
		{"missing dir counts 0", []string{reports, missing}, 7},
		{"nested and duplicate dirs counted once", []string{uploads, filepath.Join(uploads, "2026"), uploads + string(filepath.Separator), reports}, storageTreeBytes},
		{"none", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSizer(t, tt.dirs, DirSizerConfig{})
			if _, _, ok := s.Size(); ok {
				t.Fatal("Size ok before any measurement")
			}
			before := time.Now()
			got, err := s.Measure(context.Background())
			if err != nil || got != tt.want {
				t.Fatalf("Measure = %d, %v; want %d", got, err, tt.want)
			}
			size, at, ok := s.Size()
			if !ok || size != tt.want || at.Before(before) {
				t.Errorf("Size = %d, %v, %v; want %d, after %v, true", size, at, ok, tt.want, before)
			}
			if m, _ := s.Last(); m.Partial {
				t.Errorf("Last = %+v, want not partial", m)
			}
		})
	}
}

func TestDirSizerRootSymlinkFollowed(t *testing.T) {
	uploads, _ := storageTree(t)
	link := filepath.Join(t.TempDir(), "storage")
	if err := os.Symlink(uploads, link); err != nil {
		t.Fatal(err)
	}
	got, err := newSizer(t, []string{link}, DirSizerConfig{}).Measure(context.Background())
	if err != nil || got != 32100 {
		t.Errorf("Measure = %d, %v; want 32100", got, err)
	}
}

func TestDirSizerMaxFiles(t *testing.T) {
	uploads, reports := storageTree(t)
	s := newSizer(t, []string{uploads, reports}, DirSizerConfig{MaxFiles: 3})
	got, err := s.Measure(context.Background())
	if !errors.Is(err, ErrPartial) || !strings.Contains(err.Error(), "stopped after 3 entries") {
		t.Fatalf("Measure error = %v, want ErrPartial after 3 entries", err)
	}
	m, ok := s.Last()
	if !ok || !m.Partial || m.Entries != 3 || m.Bytes != got || got > storageTreeBytes {
		t.Errorf("Last = %+v, %v; want partial after 3 entries with %d ≤ %d bytes", m, ok, got, storageTreeBytes)
	}
	// Exactly enough entries: uploads (root, a.csv, 2026, 11, b.csv, 12,
	// c.csv, empty, link) and reports (root, r.pdf, link) = 12.
	for _, tt := range []struct {
		max         int
		wantPartial bool
	}{{11, true}, {12, false}} {
		_, err := newSizer(t, []string{uploads, reports}, DirSizerConfig{MaxFiles: tt.max}).Measure(context.Background())
		if errors.Is(err, ErrPartial) != tt.wantPartial {
			t.Errorf("MaxFiles %d: error %v, want partial %v", tt.max, err, tt.wantPartial)
		}
	}
}

func TestDirSizerTimeout(t *testing.T) {
	uploads, reports := storageTree(t)
	s := newSizer(t, []string{uploads, reports}, DirSizerConfig{Timeout: time.Nanosecond})
	got, err := s.Measure(context.Background())
	if !errors.Is(err, ErrPartial) || !strings.Contains(err.Error(), "timed out after 1ns") {
		t.Fatalf("Measure error = %v, want ErrPartial (timed out)", err)
	}
	if m, ok := s.Last(); !ok || !m.Partial || got != 0 {
		t.Errorf("Last = %+v, %v, size %d; want partial with 0 bytes", m, ok, got)
	}
}

func TestDirSizerCancelled(t *testing.T) {
	uploads, _ := storageTree(t)
	s := newSizer(t, []string{uploads}, DirSizerConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Measure(ctx); !errors.Is(err, context.Canceled) || errors.Is(err, ErrPartial) {
		t.Fatalf("Measure error = %v, want context.Canceled", err)
	}
	if _, _, ok := s.Size(); ok {
		t.Error("a cancelled measurement was recorded")
	}
}

func TestNewDirSizerValidation(t *testing.T) {
	tests := []struct {
		name  string
		dirs  []string
		opts  DirSizerConfig
		field string
	}{
		{"interval", nil, DirSizerConfig{Interval: -time.Second}, "DirSizerConfig.Interval"},
		{"max files", nil, DirSizerConfig{MaxFiles: -1}, "DirSizerConfig.MaxFiles"},
		{"timeout", nil, DirSizerConfig{Timeout: -1}, "DirSizerConfig.Timeout"},
		{"empty dir", []string{"a", ""}, DirSizerConfig{}, "directory 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDirSizer(tt.dirs, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("NewDirSizer error = %v, want one naming %s", err, tt.field)
			}
		})
	}
	s := newSizer(t, nil, DirSizerConfig{})
	want := DirSizerConfig{Interval: DirSizerIntervalDefault, MaxFiles: DirSizerMaxFilesDefault, Timeout: DirSizerTimeoutDefault}
	got := s.opts
	got.Logger = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestDirSizerBackground(t *testing.T) {
	uploads, reports := storageTree(t)
	synctest.Test(t, func(t *testing.T) {
		var logs syncbuf.Buffer
		s := newSizer(t, []string{uploads, reports}, DirSizerConfig{
			Interval: time.Minute,
			Logger:   slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
		start := time.Now()
		s.Start(t.Context())
		s.Start(t.Context()) // a second Start does nothing
		synctest.Wait()
		size, at, ok := s.Size()
		if !ok || size != storageTreeBytes || !at.Equal(start) {
			t.Fatalf("after Start: Size = %d, %v, %v; want %d at %v", size, at, ok, storageTreeBytes, start)
		}

		makeTree(t, uploads, map[string]int{"d.csv": 1000})
		time.Sleep(time.Minute - time.Second)
		synctest.Wait()
		if size, _, _ := s.Size(); size != storageTreeBytes {
			t.Fatalf("before the interval: Size = %d, want %d", size, storageTreeBytes)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		size, at, _ = s.Size()
		if size != storageTreeBytes+1000 || !at.Equal(start.Add(time.Minute)) {
			t.Fatalf("after the interval: Size = %d at %v, want %d at %v", size, at, storageTreeBytes+1000, start.Add(time.Minute))
		}
		if n := strings.Count(logs.String(), "storage size measured"); n != 2 {
			t.Errorf("%d measurements logged, want 2:\n%s", n, logs.String())
		}

		s.Close()
		s.Close() // idempotent
		s.Start(t.Context())
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if _, at2, _ := s.Size(); !at2.Equal(at) {
			t.Errorf("measured at %v after Close", at2)
		}
	})
}

func TestDirSizerBackgroundLogsPartial(t *testing.T) {
	uploads, _ := storageTree(t)
	synctest.Test(t, func(t *testing.T) {
		var logs syncbuf.Buffer
		s := newSizer(t, []string{uploads}, DirSizerConfig{
			MaxFiles: 2,
			Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
		})
		s.Start(t.Context())
		synctest.Wait()
		s.Close()
		if out := logs.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "partial measurement") {
			t.Errorf("log = %q, want a warning about a partial measurement", out)
		}
	})
}

func TestDirSizerStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSizer(t, nil, DirSizerConfig{})
		ctx, cancel := context.WithCancel(t.Context())
		s.Start(ctx)
		synctest.Wait()
		cancel()
		synctest.Wait()
		select {
		case <-s.done:
		default:
			t.Error("the background goroutine is still running after its context ended")
		}
		s.Close()
	})
}

func TestCloseWithoutStart(t *testing.T) {
	s := newSizer(t, nil, DirSizerConfig{})
	s.Close()
	s.Start(context.Background()) // after Close: does nothing
	if s.done != nil {
		t.Error("Start after Close started a goroutine")
	}
	s.Close()
}
