// Package sysinfo gathers the process and host figures of the system-health
// route without slowing it down: CPU percentages come from the difference
// between two readings (never from sleeping through a sampling window), and
// the size of the storage directories is measured in the background by a
// DirSizer.
//
// On Linux the memory limit of the process's cgroup (v2 memory.max, v1
// memory.limit_in_bytes) is used as the total memory when one is set and
// is lower than the host's memory, so a container reports its own budget.
package sysinfo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"
)

// MinCPUWindow is the shortest time between two readings a CPU percentage
// is computed over. A Sample taken sooner after the previous one reports
// the previous percentages, so that a burst of calls does not produce
// figures computed over a few microseconds.
const MinCPUWindow = time.Second

// Figures are one sample of the process and host figures.
type Figures struct {
	Process ProcessFigures
	Host    HostFigures
	// SampledAt is when the sample was taken.
	SampledAt time.Time
}

// ProcessFigures describe the running process.
type ProcessFigures struct {
	// CPUPercent is the CPU time the process used since the previous
	// sample (since the process started, for the first one) as a
	// percentage of one core, as top shows it: it exceeds 100 when the
	// process keeps several cores busy.
	CPUPercent float64
	// RSSBytes is the resident set size.
	RSSBytes uint64
	// Goroutines is the number of goroutines.
	Goroutines int
}

// HostFigures describe the machine (or the container's memory budget).
type HostFigures struct {
	// CPUPercent is the busy share of every CPU of the host since the
	// previous sample (since boot, for the first one), 0 to 100.
	CPUPercent float64
	// MemoryUsedBytes is the memory in use: the host's total minus its
	// available memory, or the cgroup's usage without its inactive file
	// cache when CgroupLimited.
	MemoryUsedBytes uint64
	// MemoryTotalBytes is the host's memory, or the cgroup's limit when
	// CgroupLimited.
	MemoryTotalBytes uint64
	// CgroupLimited reports that the memory figures are those of the
	// process's cgroup, whose limit is lower than the host's memory.
	CgroupLimited bool
}

// Sampler takes samples and remembers the previous CPU readings the next
// percentages are computed from. It is safe for concurrent use; the zero
// value is not usable, use NewSampler.
type Sampler struct {
	mu   sync.Mutex
	proc *process.Process // nil until the first sample

	// cgroupMemory returns the cgroup's memory limit and usage; ok is
	// false when there is no limit (or on non-Linux systems).
	cgroupMemory func() (limit, usage uint64, ok bool)

	prev       cpuReading
	hasPrev    bool
	procPct    float64
	hostPct    float64
	hasPercent bool
}

// cpuReading is one reading of the CPU counters.
type cpuReading struct {
	at       time.Time
	procCPU  float64 // seconds of CPU used by the process
	hostBusy float64 // seconds of busy CPU, all CPUs
	hostAll  float64 // seconds of CPU, all CPUs
}

// NewSampler returns a Sampler. It reads nothing until the first Sample.
func NewSampler() *Sampler {
	return &Sampler{cgroupMemory: cgroupMemory}
}

var (
	defaultOnce    sync.Once
	defaultSampler *Sampler
)

// Sample takes a sample with a Sampler shared by the whole program, so that
// its CPU percentages cover the time since the previous call of Sample.
func Sample(ctx context.Context) (Figures, error) {
	defaultOnce.Do(func() { defaultSampler = NewSampler() })
	return defaultSampler.Sample(ctx)
}

// Sample reads the process and host figures. It does not wait: the CPU
// percentages cover the time since the previous sample (see MinCPUWindow).
// When a figure cannot be read the others are still returned, with an
// error naming what failed.
func (s *Sampler) Sample(ctx context.Context) (Figures, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return Figures{}, fmt.Errorf("sysinfo: sample: %w", err)
	}
	f := Figures{SampledAt: time.Now()}
	f.Process.Goroutines = runtime.NumGoroutine()
	var errs []error

	if s.proc == nil {
		p, err := process.NewProcessWithContext(ctx, int32(os.Getpid()))
		if err != nil {
			return f, fmt.Errorf("sysinfo: open own process: %w", err)
		}
		s.proc = p
	}
	if mi, err := s.proc.MemoryInfoWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("sysinfo: process memory: %w", err))
	} else {
		f.Process.RSSBytes = mi.RSS
	}

	if err := s.cpuPercents(ctx, f.SampledAt, &f); err != nil {
		errs = append(errs, err)
	}

	if vm, err := mem.VirtualMemoryWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("sysinfo: host memory: %w", err))
	} else {
		f.Host.MemoryTotalBytes, f.Host.MemoryUsedBytes = vm.Total, vm.Used
		if limit, usage, ok := s.cgroupMemory(); ok && limit > 0 && limit < vm.Total {
			f.Host.MemoryTotalBytes = limit
			f.Host.MemoryUsedBytes = min(usage, limit)
			f.Host.CgroupLimited = true
		}
	}
	return f, errors.Join(errs...)
}

// cpuPercents fills the CPU percentages of f from the difference with the
// previous reading.
func (s *Sampler) cpuPercents(ctx context.Context, now time.Time, f *Figures) error {
	if s.hasPercent && now.Sub(s.prev.at) < MinCPUWindow {
		f.Process.CPUPercent, f.Host.CPUPercent = s.procPct, s.hostPct
		return nil
	}
	cur := cpuReading{at: now}
	pt, err := s.proc.TimesWithContext(ctx)
	if err != nil {
		return fmt.Errorf("sysinfo: process cpu times: %w", err)
	}
	cur.procCPU = pt.User + pt.System
	ht, err := cpu.TimesWithContext(ctx, false)
	if err != nil {
		return fmt.Errorf("sysinfo: host cpu times: %w", err)
	}
	if len(ht) == 0 {
		return errors.New("sysinfo: host cpu times: none reported")
	}
	cur.hostBusy, cur.hostAll = busyTimes(ht[0])

	if s.hasPrev {
		s.procPct = percent(cur.procCPU-s.prev.procCPU, cur.at.Sub(s.prev.at).Seconds())
		s.hostPct = min(percent(cur.hostBusy-s.prev.hostBusy, cur.hostAll-s.prev.hostAll), 100)
	} else {
		// First sample: averages since the process started and since boot.
		if ms, err := s.proc.CreateTimeWithContext(ctx); err == nil {
			s.procPct = percent(cur.procCPU, now.Sub(time.UnixMilli(ms)).Seconds())
		}
		s.hostPct = min(percent(cur.hostBusy, cur.hostAll), 100)
	}
	s.prev, s.hasPrev, s.hasPercent = cur, true, true
	f.Process.CPUPercent, f.Host.CPUPercent = s.procPct, s.hostPct
	return nil
}

// busyTimes returns the busy and total CPU seconds of t.
func busyTimes(t cpu.TimesStat) (busy, all float64) {
	all = t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
	return all - t.Idle - t.Iowait, all
}

// percent returns part/whole×100, or 0 when whole is not positive or the
// result would be negative (a counter that went backwards).
func percent(part, whole float64) float64 {
	if whole <= 0 || part <= 0 {
		return 0
	}
	return part / whole * 100
}
