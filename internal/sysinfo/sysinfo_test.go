package sysinfo

import (
	"context"
	"errors"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/process"
)

func TestSamplePlausible(t *testing.T) {
	f, err := NewSampler().Sample(context.Background())
	if err != nil {
		t.Fatalf("Sample: %v", err)
	}
	if f.Process.RSSBytes == 0 {
		t.Error("Process.RSSBytes = 0")
	}
	if f.Process.Goroutines < 1 {
		t.Errorf("Process.Goroutines = %d", f.Process.Goroutines)
	}
	if f.Host.MemoryTotalBytes == 0 || f.Host.MemoryUsedBytes > f.Host.MemoryTotalBytes {
		t.Errorf("host memory used %d of %d", f.Host.MemoryUsedBytes, f.Host.MemoryTotalBytes)
	}
	if f.Process.RSSBytes > f.Host.MemoryTotalBytes && !f.Host.CgroupLimited {
		t.Errorf("RSS %d above the host's memory %d", f.Process.RSSBytes, f.Host.MemoryTotalBytes)
	}
	if f.Host.CPUPercent < 0 || f.Host.CPUPercent > 100 || f.Process.CPUPercent < 0 {
		t.Errorf("cpu percents process %v host %v", f.Process.CPUPercent, f.Host.CPUPercent)
	}
	if f.SampledAt.IsZero() {
		t.Error("SampledAt is zero")
	}
}

func TestSamplePackageLevel(t *testing.T) {
	f, err := Sample(context.Background())
	if err != nil || f.Process.RSSBytes == 0 || f.Host.MemoryTotalBytes == 0 {
		t.Fatalf("Sample = %+v, %v", f, err)
	}
}

func TestSampleCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewSampler().Sample(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Sample error = %v, want context.Canceled", err)
	}
}

// TestSampleCPUDelta runs in a synctest bubble, where the clock only moves
// when every goroutine is blocked: the CPU burnt between two samples is
// therefore measured against exactly the window slept.
func TestSampleCPUDelta(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSampler()
		if _, err := s.Sample(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		burnCPU(t, 100*time.Millisecond)
		f, err := s.Sample(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// At least 100 ms of CPU over a 10 s window: at least 1 %.
		if f.Process.CPUPercent < 1 {
			t.Errorf("Process.CPUPercent = %v after burning 100 ms of CPU in 10 s, want ≥ 1", f.Process.CPUPercent)
		}
		// Within MinCPUWindow the previous percentages are reported.
		time.Sleep(MinCPUWindow / 2)
		burnCPU(t, 50*time.Millisecond)
		g, err := s.Sample(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if g.Process.CPUPercent != f.Process.CPUPercent || g.Host.CPUPercent != f.Host.CPUPercent {
			t.Errorf("within MinCPUWindow: got %v/%v, want the previous %v/%v",
				g.Process.CPUPercent, g.Host.CPUPercent, f.Process.CPUPercent, f.Host.CPUPercent)
		}
	})
}

// burnCPU keeps the calling goroutine busy for d of CPU time, measured
// with the process's CPU clock (the bubble's clock does not move meanwhile).
func burnCPU(t *testing.T, d time.Duration) {
	t.Helper()
	start := cpuSeconds(t)
	for cpuSeconds(t)-start < d.Seconds() {
		for i := range 1_000_000 {
			sink += i
		}
	}
}

var sink int

func cpuSeconds(t *testing.T) float64 {
	t.Helper()
	p, err := process.NewProcess(int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := p.Times()
	if err != nil {
		t.Fatal(err)
	}
	return ts.User + ts.System
}

func TestSampleCgroupLimit(t *testing.T) {
	host, err := NewSampler().Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	total := host.Host.MemoryTotalBytes
	tests := []struct {
		name        string
		limit       uint64
		usage       uint64
		set         bool
		wantLimited bool
	}{
		{"no cgroup limit", 0, 0, false, false},
		{"limit below host memory", total / 4, total / 8, true, true},
		{"usage above limit is capped", total / 4, total / 2, true, true},
		{"limit above host memory", total * 2, total / 8, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSampler()
			s.cgroupMemory = func() (uint64, uint64, bool) { return tt.limit, tt.usage, tt.set }
			f, err := s.Sample(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if f.Host.CgroupLimited != tt.wantLimited {
				t.Fatalf("CgroupLimited = %v, want %v", f.Host.CgroupLimited, tt.wantLimited)
			}
			if !tt.wantLimited {
				if f.Host.MemoryTotalBytes != total {
					t.Errorf("MemoryTotalBytes = %d, want the host's %d", f.Host.MemoryTotalBytes, total)
				}
				return
			}
			if f.Host.MemoryTotalBytes != tt.limit || f.Host.MemoryUsedBytes != min(tt.usage, tt.limit) {
				t.Errorf("memory %d of %d, want %d of %d", f.Host.MemoryUsedBytes, f.Host.MemoryTotalBytes, min(tt.usage, tt.limit), tt.limit)
			}
		})
	}
}

func TestPercentAndBusy(t *testing.T) {
	busy, all := busyTimes(cpu.TimesStat{User: 10, System: 5, Idle: 80, Iowait: 5, Nice: 1, Irq: 1, Softirq: 1, Steal: 2})
	if busy != 20 || all != 105 {
		t.Errorf("busyTimes = %v, %v; want 20, 105", busy, all)
	}
	for _, tt := range []struct{ part, whole, want float64 }{
		{1, 4, 25}, {0, 4, 0}, {-1, 4, 0}, {1, 0, 0}, {3, 2, 150},
	} {
		if got := percent(tt.part, tt.whole); got != tt.want {
			t.Errorf("percent(%v, %v) = %v, want %v", tt.part, tt.whole, got, tt.want)
		}
	}
}
