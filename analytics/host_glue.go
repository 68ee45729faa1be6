package analytics

import (
	"context"
	"math"
	"runtime"
)

// sampleHost reads the process and host figures; what cannot be read is
// left at zero (logged at debug level) so system-health keeps answering.
func (s *Service) sampleHost(ctx context.Context) (ProcessHealth, HostHealth) {
	f, err := s.sampler.Sample(ctx)
	if err != nil {
		s.log.DebugContext(ctx, "analytics: sample process and host figures", "err", err)
	}
	clamp := func(v uint64) int64 {
		if v > math.MaxInt64 {
			return math.MaxInt64
		}
		return int64(v)
	}
	p := ProcessHealth{CPUPercent: Round(f.Process.CPUPercent, 1), RSSBytes: clamp(f.Process.RSSBytes), Goroutines: f.Process.Goroutines}
	if p.Goroutines == 0 {
		p.Goroutines = runtime.NumGoroutine()
	}
	h := HostHealth{CPUPercent: Round(f.Host.CPUPercent, 1), MemoryUsedBytes: clamp(f.Host.MemoryUsedBytes),
		MemoryTotalBytes: clamp(f.Host.MemoryTotalBytes), MemoryLimited: f.Host.CgroupLimited}
	return p, h
}
