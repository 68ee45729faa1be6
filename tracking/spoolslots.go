package tracking

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/advisoranalytics/advisor-analytics/tracking/spool"
)

// spoolSlotsMax bounds how many processes can spool into one SpoolDir at
// the same time.
const spoolSlotsMax = 64

// openSpool opens the Recorder's spool in a slot of dir: each process
// takes the first numbered subdirectory ("0", "1", …) that no other live
// process holds, so several processes started in the same working
// directory each get a spool of their own. A slot's lock dies with its
// process, so a restarted process takes its slot back and replays it.
// Slots left by processes that did not come back are adopted: their
// events are moved into this process's spool and written from there.
func openSpool(dir string, cfg spool.Config, log *slog.Logger) (*spool.Spool, spool.Recovery, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, spool.Recovery{}, fmt.Errorf("spool: open %s: %w", dir, err)
	}
	for i := range spoolSlotsMax {
		sp, rec, err := spool.Open(filepath.Join(dir, strconv.Itoa(i)), cfg)
		if errors.Is(err, spool.ErrLocked) {
			continue
		}
		if err != nil {
			return nil, rec, err
		}
		adoptSlots(sp, dir, i, cfg, &rec, log)
		return sp, rec, nil
	}
	return nil, spool.Recovery{}, fmt.Errorf("spool: open %s: all %d slots are held by running processes", dir, spoolSlotsMax)
}

// adoptSlots moves the unwritten events of every other slot of dir that no
// live process holds into sp. A slot it cannot finish (sp full, a read
// error) keeps the rest, acknowledged only up to what was moved, for a
// later start to adopt.
func adoptSlots(sp *spool.Spool, dir string, own int, cfg spool.Config, rec *spool.Recovery, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Warn("tracking: listing spool slots failed", "dir", dir, "error", err)
		return
	}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil || n == own || !e.IsDir() || strconv.Itoa(n) != e.Name() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		moved, err := adoptSlot(sp, path, cfg, rec)
		switch {
		case errors.Is(err, spool.ErrLocked):
			// A live process owns it.
		case err != nil:
			log.Warn("tracking: adopting a spool slot failed; the rest stays there",
				"slot", path, "events_moved", moved, "error", err)
		case moved > 0:
			log.Info("tracking: adopted the spool of an earlier process", "slot", path, "events", moved)
		}
	}
}

// adoptSlot moves the records of the spool at path into sp.
func adoptSlot(sp *spool.Spool, path string, cfg spool.Config, rec *spool.Recovery) (int64, error) {
	// What it acknowledges is in sp, appended and synced: nothing to wait for.
	cfg.BeforeAck = nil
	other, orec, err := spool.Open(path, cfg)
	if err != nil {
		return 0, err
	}
	defer other.Close()
	rec.CorruptBytes += orec.CorruptBytes
	rec.CorruptSegments += orec.CorruptSegments
	var moved int64
	payloads := make([][]byte, 0, 512)
	for {
		recs, pos, err := other.Read(512)
		if err != nil {
			return moved, err
		}
		if len(recs) == 0 {
			return moved, nil
		}
		payloads = payloads[:0]
		var bytes int64
		for _, r := range recs {
			payloads = append(payloads, r.Data)
			bytes += int64(len(r.Data))
		}
		if err := sp.Append(payloads...); err != nil {
			return moved, err
		}
		if err := other.Ack(pos); err != nil {
			// Moved but not acknowledged: a later adoption moves them again,
			// and replays are idempotent.
			return moved, err
		}
		moved += int64(len(recs))
		rec.Records += int64(len(recs))
		rec.Bytes += bytes
	}
}
