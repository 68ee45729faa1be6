package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/sysinfo"
)

// dirSizer measures Config.StorageDirs in the background; with no
// directory it reports 0 bytes.
type dirSizer struct {
	ds *sysinfo.DirSizer
}

func newDirSizer(cfg Config) (dirSizer, error) {
	if len(cfg.StorageDirs) == 0 {
		return dirSizer{}, nil
	}
	ds, err := sysinfo.NewDirSizer(cfg.StorageDirs, sysinfo.DirSizerOptions{Interval: cfg.StorageRefresh, Logger: cfg.Logger})
	if err != nil {
		return dirSizer{}, fmt.Errorf("analytics: Config.StorageDirs: %w", err)
	}
	return dirSizer{ds: ds}, nil
}

func (d dirSizer) start(ctx context.Context) {
	if d.ds != nil {
		d.ds.Start(ctx)
	}
}

func (d dirSizer) stop() {
	if d.ds != nil {
		d.ds.Stop()
	}
}

func (d dirSizer) size() (int64, time.Time, bool) {
	if d.ds == nil {
		return 0, time.Time{}, false
	}
	return d.ds.Size()
}
