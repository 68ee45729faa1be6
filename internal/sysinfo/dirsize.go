package sysinfo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of DirSizerConfig.
const (
	// DirSizerIntervalDefault is the default DirSizerConfig.Interval.
	DirSizerIntervalDefault = 10 * time.Minute
	// DirSizerMaxFilesDefault is the default DirSizerConfig.MaxFiles.
	DirSizerMaxFilesDefault = 1_000_000
	// DirSizerTimeoutDefault is the default DirSizerConfig.Timeout.
	DirSizerTimeoutDefault = time.Minute
)

// ErrPartial is returned (wrapped with the reason) by DirSizer.Measure when
// a measurement stopped at DirSizerConfig.MaxFiles or Timeout; the size
// returned with it is what was counted so far, a lower bound.
var ErrPartial = errors.New("sysinfo: partial measurement")

// DirSizerConfig tune a DirSizer. The zero value uses the defaults.
type DirSizerConfig struct {
	// Interval is the time between two background measurements. Defaults
	// to DirSizerIntervalDefault.
	Interval time.Duration
	// MaxFiles bounds the number of directory entries (files, directories,
	// links) one measurement visits. Defaults to DirSizerMaxFilesDefault.
	MaxFiles int
	// Timeout bounds the duration of one measurement. Defaults to
	// DirSizerTimeoutDefault.
	Timeout time.Duration
	// Logger receives the outcome of background measurements (a warning
	// when one fails or is partial). Defaults to slog.Default().
	Logger *slog.Logger
}

// Measurement is the outcome of one DirSizer measurement.
type Measurement struct {
	// Bytes is the total size of the regular files found.
	Bytes int64
	// Entries is the number of directory entries visited.
	Entries int
	// MeasuredAt is when the measurement finished.
	MeasuredAt time.Time
	// Duration is how long it took.
	Duration time.Duration
	// Partial reports that it stopped at MaxFiles or Timeout: Bytes is a
	// lower bound.
	Partial bool
}

// DirSizer measures the total size of a set of directories in the
// background, so that requests read the last result instead of walking the
// tree. Directories that do not exist count as 0; symbolic links inside
// the directories are not followed (a configured directory that is itself
// a link is); entries that cannot be read are left out. A directory nested
// in another configured directory is counted once.
type DirSizer struct {
	dirs []string
	opts DirSizerConfig

	mu       sync.Mutex
	last     Measurement
	measured bool
	started  bool
	stopped  bool
	cancel   context.CancelFunc
	done     chan struct{}
}

// NewDirSizer returns a DirSizer for dirs. It starts nothing; call Start.
func NewDirSizer(dirs []string, opts DirSizerConfig) (*DirSizer, error) {
	switch {
	case opts.Interval < 0:
		return nil, fmt.Errorf("sysinfo: invalid DirSizerConfig.Interval %v: must not be negative", opts.Interval)
	case opts.MaxFiles < 0:
		return nil, fmt.Errorf("sysinfo: invalid DirSizerConfig.MaxFiles %d: must not be negative", opts.MaxFiles)
	case opts.Timeout < 0:
		return nil, fmt.Errorf("sysinfo: invalid DirSizerConfig.Timeout %v: must not be negative", opts.Timeout)
	}
	for i, d := range dirs {
		if d == "" {
			return nil, fmt.Errorf("sysinfo: invalid directory %d: empty path", i)
		}
	}
	if opts.Interval == 0 {
		opts.Interval = DirSizerIntervalDefault
	}
	if opts.MaxFiles == 0 {
		opts.MaxFiles = DirSizerMaxFilesDefault
	}
	if opts.Timeout == 0 {
		opts.Timeout = DirSizerTimeoutDefault
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &DirSizer{dirs: outermostDirs(dirs), opts: opts}, nil
}

// outermostDirs cleans dirs (made absolute when possible) and drops
// duplicates and directories inside another one of the list.
func outermostDirs(dirs []string) []string {
	clean := make([]string, 0, len(dirs))
	for _, d := range dirs {
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		clean = append(clean, filepath.Clean(d))
	}
	slices.Sort(clean)
	clean = slices.Compact(clean)
	out := clean[:0]
	for _, d := range clean {
		if len(out) > 0 && within(d, out[len(out)-1]) {
			continue
		}
		out = append(out, d)
	}
	return out
}

// within reports whether dir is inside parent.
func within(dir, parent string) bool {
	rel, err := filepath.Rel(parent, dir)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Start measures right away and then every Interval, in a goroutine that
// runs until ctx is done or Close is called. Calling it again, or after
// Close, does nothing.
func (s *DirSizer) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.run(ctx, s.done)
}

// Close stops the background measurements and waits until the goroutine
// has returned (a measurement in progress is cancelled). It may be called
// more than once, and without Start.
func (s *DirSizer) Close() {
	s.mu.Lock()
	s.stopped = true
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (s *DirSizer) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		n, err := s.Measure(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.opts.Logger.Warn("sysinfo: storage size measurement", "dirs", s.dirs, "bytes", n, "error", err)
		default:
			s.opts.Logger.Debug("sysinfo: storage size measured", "dirs", s.dirs, "bytes", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Size returns the last measured size and when it was measured; ok is false
// until a measurement has finished.
func (s *DirSizer) Size() (bytes int64, measuredAt time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last.Bytes, s.last.MeasuredAt, s.measured
}

// Last returns the last measurement; ok is false until one has finished.
func (s *DirSizer) Last() (m Measurement, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.measured
}

// Measure measures the directories now, in the calling goroutine, records
// the result for Size and returns it. A measurement stopped by MaxFiles or
// Timeout is recorded as partial and returned with an error wrapping
// ErrPartial. When ctx ends first, nothing is recorded and ctx's error is
// returned (wrapped).
func (s *DirSizer) Measure(ctx context.Context) (int64, error) {
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	w := walker{ctx: wctx, maxEntries: s.opts.MaxFiles}
	for _, d := range s.dirs {
		if err := w.walk(d); err != nil {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return w.bytes, fmt.Errorf("sysinfo: measure storage: %w", err)
	}
	var partial error
	switch {
	case w.limited:
		partial = fmt.Errorf("%w: stopped after %d entries", ErrPartial, s.opts.MaxFiles)
	case w.timedOut:
		partial = fmt.Errorf("%w: timed out after %v", ErrPartial, s.opts.Timeout)
	}
	end := time.Now()
	m := Measurement{Bytes: w.bytes, Entries: w.entries, MeasuredAt: end, Duration: end.Sub(start), Partial: partial != nil}
	s.mu.Lock()
	if !s.measured || !m.MeasuredAt.Before(s.last.MeasuredAt) {
		s.last, s.measured = m, true
	}
	s.mu.Unlock()
	return m.Bytes, partial
}

// walker adds up the sizes of the regular files of directory trees.
type walker struct {
	ctx        context.Context
	maxEntries int
	bytes      int64
	entries    int
	limited    bool // stopped at maxEntries
	timedOut   bool // stopped because ctx ended
}

// errStop ends a walk early.
var errStop = errors.New("stop walking")

// walk adds the tree at root. It returns errStop when the walk must end.
func (w *walker) walk(root string) error {
	if resolved, err := filepath.EvalSymlinks(root); err == nil {
		root = resolved
	} else if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if w.ctx.Err() != nil {
			w.timedOut = true
			return errStop
		}
		if err != nil {
			// An unreadable entry or directory is left out; a missing
			// root (removed meanwhile) counts as 0.
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if w.entries == w.maxEntries {
			w.limited = true
			return errStop
		}
		w.entries++
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		w.bytes += info.Size()
		return nil
	})
	if errors.Is(err, errStop) {
		return errStop
	}
	return nil
}
