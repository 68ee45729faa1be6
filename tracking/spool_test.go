package tracking

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
	"github.com/advisoranalytics/advisor-analytics/tracking/spool"
)

// gateWriter passes calls to a real store, except while down (the store
// is unreachable) and for activities whose description is poison (an
// error the store does not classify, every time).
type gateWriter struct {
	store.ActivityWriter
	down   atomic.Bool
	poison string
}

func (g *gateWriter) ActivityInsertMany(ctx context.Context, b []store.Activity) error {
	if g.down.Load() {
		return fmt.Errorf("gate: connection refused: %w", store.ErrUnavailable)
	}
	for _, a := range b {
		if g.poison != "" && a.Description == g.poison {
			return errors.New("gate: stack depth limit exceeded")
		}
	}
	return g.ActivityWriter.ActivityInsertMany(ctx, b)
}

// SyncWrites syncs the real store's writes (see storedriver.SyncWrites).
func (g *gateWriter) SyncWrites(ctx context.Context) error {
	return storedriver.SyncWrites(ctx, g.ActivityWriter)
}

func openSpooled(t *testing.T, w store.ActivityWriter, cfg RecorderConfig) *Recorder {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	cfg.RetryMin, cfg.RetryMax = 5*time.Millisecond, 50*time.Millisecond
	rec, err := NewRecorder(w, cfg)
	if err != nil {
		t.Fatalf("NewRecorder: %v", err)
	}
	if err := rec.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return rec
}

func closeWithin(t *testing.T, rec *Recorder, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return rec.Close(ctx)
}

// idsOf returns how many rows each id has.
func idsOf(t *testing.T, s store.ActivityReader) map[string]int {
	t.Helper()
	out := map[string]int{}
	var cursor string
	for {
		page, err := s.ActivityList(context.Background(), store.ActivityListParams{Limit: 1000, Cursor: cursor})
		if err != nil {
			t.Fatalf("ActivityList: %v", err)
		}
		for _, a := range page.Activities {
			out[a.ID]++
		}
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

// TestSpoolOutageThenRestart: with the store down, Record answers from the
// spool; the process stops with the store still down (events stay in the
// spool); a new Recorder on the same directory writes every event exactly
// once when the store is back, including events an earlier run had
// already stored but not acknowledged.
func TestSpoolOutageThenRestart(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			s := d.open(t)
			dir := t.TempDir()
			g := &gateWriter{ActivityWriter: s}

			// Run 1: 200 events stored and acknowledged; then the ack file is
			// lost, as after a crash right before it was written.
			rec := openSpooled(t, g, RecorderConfig{SpoolDir: dir, Writers: d.writers, BatchSize: 50})
			for i := range 200 {
				if err := rec.Record(context.Background(), act(i)); err != nil {
					t.Fatalf("Record: %v", err)
				}
			}
			if err := closeWithin(t, rec, 20*time.Second); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := os.Remove(filepath.Join(dir, "0", "ack")); err != nil {
				t.Fatal(err)
			}

			// Run 2: the store goes down; Record and Enqueue keep accepting.
			g.down.Store(true)
			rec = openSpooled(t, g, RecorderConfig{SpoolDir: dir, Writers: d.writers, BatchSize: 50, SpoolWindow: 5 * time.Millisecond})
			if st := rec.Stats(); st.Replayed != 200 {
				t.Fatalf("replayed %d events, want 200", st.Replayed)
			}
			var wg sync.WaitGroup
			for c := range 8 {
				wg.Go(func() {
					for i := range 100 {
						if err := rec.Record(context.Background(), act(1000+c*100+i)); err != nil {
							t.Errorf("Record during outage: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
			for i := range 100 {
				if !rec.Enqueue(act(5000 + i)) {
					t.Fatal("Enqueue refused during outage")
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for rec.Stats().Spool.Held < 200+800+100 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			st := rec.Stats()
			if st.Spool.Held != 1100 || st.Spool.Bytes == 0 || st.Spool.OldestAge <= 0 || st.Held == 0 || st.LastError == "" {
				t.Fatalf("stats during outage: %+v spool %+v", st, *st.Spool)
			}
			// Stopped while the store is still down: nothing is lost.
			// (Seconds rather than the few milliseconds it takes, for
			// loaded machines: a Close that waited for the store would
			// still run into the deadline.)
			if err := closeWithin(t, rec, 2*time.Second); err != nil {
				t.Fatalf("Close during outage: %v", err)
			}
			if st := rec.Stats(); st.Failed != 0 {
				t.Fatalf("events failed instead of staying in the spool: %+v", st)
			}

			// Run 3: the store is back.
			g.down.Store(false)
			rec = openSpooled(t, g, RecorderConfig{SpoolDir: dir, Writers: d.writers, BatchSize: 50})
			if err := closeWithin(t, rec, 30*time.Second); err != nil {
				t.Fatalf("Close: %v", err)
			}
			st = rec.Stats()
			if st.Replayed != 1100 || st.Written != 1100 || st.Failed != 0 || st.Spool.Held != 0 {
				t.Fatalf("after restart: %+v spool %+v", st, *st.Spool)
			}
			ids := idsOf(t, s)
			if len(ids) != 1100 {
				t.Fatalf("%d distinct events stored, want 1100", len(ids))
			}
			for id, n := range ids {
				if n != 1 {
					t.Fatalf("event %s stored %d times", id, n)
				}
			}
		})
	}
}

// TestSpoolCorruptTail: a torn record at the end of the spool (a crash in
// the middle of a write) costs only that record; the rest is written.
func TestSpoolCorruptTail(t *testing.T) {
	s := drivers[0].open(t)
	dir := t.TempDir()
	g := &gateWriter{ActivityWriter: s}
	g.down.Store(true)
	rec := openSpooled(t, g, RecorderConfig{SpoolDir: dir})
	for i := range 50 {
		if err := rec.Record(context.Background(), act(i)); err != nil {
			t.Fatal(err)
		}
	}
	closeWithin(t, rec, 50*time.Millisecond)
	segs, _ := filepath.Glob(filepath.Join(dir, "*", "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segments: %v", segs)
	}
	fi, _ := os.Stat(segs[0])
	if err := os.Truncate(segs[0], fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	g.down.Store(false)
	rec = openSpooled(t, g, RecorderConfig{SpoolDir: dir})
	if err := closeWithin(t, rec, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	st := rec.Stats()
	if st.Written != 49 || st.Spool.CorruptBytes == 0 {
		t.Fatalf("stats: %+v spool %+v", st, *st.Spool)
	}
	if n := countRows(t, s); n != 49 {
		t.Fatalf("rows = %d, want 49", n)
	}
}

// TestSpoolByteCap: past SpoolMaxBytes, Record writes to the store
// directly; with the store down too it fails (the caller answers an
// error, never a false acknowledgement), and the overflow is counted.
func TestSpoolByteCap(t *testing.T) {
	s := drivers[0].open(t)
	g := &gateWriter{ActivityWriter: s}
	g.down.Store(true)
	rec := openSpooled(t, g, RecorderConfig{SpoolDir: t.TempDir(), SpoolMaxBytes: 8 << 10, WriteTimeout: 15 * time.Second})
	accepted, refused := 0, 0
	for i := range 100 {
		err := rec.Record(context.Background(), act(i))
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, store.ErrUnavailable) && errors.Is(err, spool.ErrFull):
			refused++
		default:
			t.Fatalf("Record %d: %v", i, err)
		}
	}
	st := rec.Stats()
	if accepted == 0 || refused == 0 || st.SpoolOverflow != int64(refused) || st.Spool.Full != int64(refused) {
		t.Fatalf("accepted %d refused %d stats %+v spool %+v", accepted, refused, st, *st.Spool)
	}
	// Once the store answers, past the cap goes straight to it.
	g.down.Store(false)
	if err := rec.Record(context.Background(), act(1000)); err != nil {
		t.Fatalf("Record with the spool full and the store up: %v", err)
	}
	if err := closeWithin(t, rec, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s); n != int64(accepted+1) {
		t.Fatalf("rows = %d, want %d", n, accepted+1)
	}
}

// TestPoisonEventQuarantined: an event the store keeps refusing with an
// unclassified error is split out of its batch and quarantined to the
// dead-letter file after PoisonAttempts failures; the rest is stored.
func TestPoisonEventQuarantined(t *testing.T) {
	for _, d := range drivers {
		for _, spooled := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/spooled=%v", d.name, spooled), func(t *testing.T) {
				s := d.open(t)
				g := &gateWriter{ActivityWriter: s, poison: "event 13"}
				dir := t.TempDir()
				cfg := RecorderConfig{BatchSize: 40, FlushInterval: 10 * time.Millisecond, PoisonAttempts: 3,
					DeadLetterFile: filepath.Join(dir, "dead.jsonl")}
				if spooled {
					cfg.SpoolDir = filepath.Join(dir, "spool")
				}
				rec := openSpooled(t, g, cfg)
				for i := range 40 {
					rec.Enqueue(act(i))
				}
				if err := closeWithin(t, rec, 20*time.Second); err != nil {
					t.Fatalf("Close: %v", err)
				}
				st := rec.Stats()
				if st.Written != 39 || st.Quarantined != 1 || st.Failed != 0 {
					t.Fatalf("stats: %+v", st)
				}
				if n := countRows(t, s); n != 39 {
					t.Fatalf("rows = %d, want 39", n)
				}
				f, err := os.Open(cfg.DeadLetterFile)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				sc := bufio.NewScanner(f)
				var lines []map[string]any
				for sc.Scan() {
					var m map[string]any
					if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
						t.Fatal(err)
					}
					lines = append(lines, m)
				}
				if len(lines) != 1 || !strings.Contains(fmt.Sprint(lines[0]["error"]), "stack depth") ||
					lines[0]["activity"].(map[string]any)["Description"] != "event 13" {
					t.Fatalf("dead letters: %v", lines)
				}
			})
		}
	}
}

// TestForgetDropsQueuedEvents: events of an erased user still queued (or
// spooled) while the store is down are not written afterwards.
func TestForgetDropsQueuedEvents(t *testing.T) {
	for _, spooled := range []bool{false, true} {
		t.Run(fmt.Sprint("spooled=", spooled), func(t *testing.T) {
			s := drivers[0].open(t)
			g := &gateWriter{ActivityWriter: s}
			g.down.Store(true)
			cfg := RecorderConfig{BatchSize: 10, FlushInterval: 10 * time.Millisecond}
			if spooled {
				cfg.SpoolDir = t.TempDir()
			}
			rec := openSpooled(t, g, cfg)
			for i := range 70 {
				rec.Enqueue(act(i)) // users u0..u6, 10 events each
			}
			time.Sleep(100 * time.Millisecond)
			rec.Forget("u3")
			g.down.Store(false)
			if err := closeWithin(t, rec, 20*time.Second); err != nil {
				t.Fatal(err)
			}
			if st := rec.Stats(); st.Written != 60 || st.Erased != 10 {
				t.Fatalf("stats: %+v", st)
			}
			page, err := s.ActivityList(context.Background(), store.ActivityListParams{Limit: 1,
				ActivityFilter: store.ActivityFilter{UserID: "u3"}})
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != 0 {
				t.Fatalf("%d events of the forgotten user stored", page.Total)
			}
		})
	}
}

// TestQueueBytesBound: the memory queue refuses events past QueueBytes
// even when it has room by count.
func TestQueueBytesBound(t *testing.T) {
	g := &gateWriter{ActivityWriter: newMemWriter()}
	g.down.Store(true)
	rec := openSpooled(t, g, RecorderConfig{QueueBytes: 1 << 20, PoisonAttempts: 1000})
	big := strings.Repeat("x", 64<<10)
	accepted := 0
	for i := range 100 {
		a := act(i)
		a.Metadata = map[string]any{"blob": big}
		if rec.Enqueue(a) {
			accepted++
		}
	}
	st := rec.Stats()
	if accepted >= 20 || st.Dropped.QueueFull != int64(100-accepted) || st.QueueBytes > st.QueueBytesCapacity {
		t.Fatalf("accepted %d of 100 64 KiB events into a 1 MiB queue; stats %+v", accepted, st)
	}
	closeWithin(t, rec, 50*time.Millisecond)
}

// TestSpoolWriteErrorFallsBack: when the spool cannot be written (here its
// directory vanished and a file took its place; a full disk behaves the
// same), Record says why in the stats and stores the event directly; the
// spool works again once its directory is back.
func TestSpoolWriteErrorFallsBack(t *testing.T) {
	s := drivers[0].open(t)
	dir := filepath.Join(t.TempDir(), "spool")
	rec := openSpooled(t, s, RecorderConfig{SpoolDir: dir})
	moved := dir + ".moved"
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rec.Record(context.Background(), act(1)); err != nil {
		t.Fatalf("Record with a broken spool: %v", err)
	}
	st := rec.Stats()
	if st.SpoolOverflow != 1 || st.Spool.AppendErrors != 1 || !strings.Contains(st.Spool.LastError, "create segment") {
		t.Fatalf("stats: %+v spool %+v", st, *st.Spool)
	}
	os.Remove(dir)
	if err := os.Rename(moved, dir); err != nil {
		t.Fatal(err)
	}
	if err := rec.Record(context.Background(), act(2)); err != nil {
		t.Fatal(err)
	}
	if err := closeWithin(t, rec, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := rec.Stats(); st.SpoolOverflow != 1 || st.Written != 2 {
		t.Fatalf("stats after recovery: %+v", st)
	}
	if n := countRows(t, s); n != 2 {
		t.Fatalf("rows = %d, want 2", n)
	}
}

// TestMiddlewareEventsReachSpoolWithinWindow: a request tracked by the
// middleware is on disk within the spool window (plus an fsync), even while
// the store is down; the request itself never waits for it.
func TestMiddlewareEventsReachSpoolWithinWindow(t *testing.T) {
	g := &gateWriter{ActivityWriter: newMemWriter()}
	g.down.Store(true)
	const window = 50 * time.Millisecond
	rec := openSpooled(t, g, RecorderConfig{SpoolDir: t.TempDir(), SpoolWindow: window})
	defer closeWithin(t, rec, 50*time.Millisecond)
	mw, err := NewMiddleware(MiddlewareConfig{Recorder: rec, Logger: quietLogger(),
		Identify: func(*http.Request) (Identity, bool) { return Identity{UserID: "u1"}, true }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	for i := range 3 {
		start := time.Now()
		resp, err := http.Post(srv.URL+"/api/v1/clients/", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for rec.Stats().Spool.Appended < int64(i+1) {
			if time.Since(start) > window+time.Second {
				t.Fatalf("event %d not in the spool %v after its request", i, time.Since(start))
			}
			time.Sleep(time.Millisecond)
		}
		if st := rec.Stats(); st.Spool.Held != int64(i+1) || st.Written != 0 {
			t.Fatalf("stats: %+v spool %+v", st, *st.Spool)
		}
	}
}

// TestSpoolSharedDir: two recorders (two processes started in the same
// working directory) share one SpoolDir, each in a slot of its own; a
// later start adopts the slot of the one that did not come back, so every
// event either of them spooled is written exactly once.
func TestSpoolSharedDir(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			s := d.open(t)
			dir := t.TempDir()
			g := &gateWriter{ActivityWriter: s}
			g.down.Store(true)
			a := openSpooled(t, g, RecorderConfig{SpoolDir: dir})
			b := openSpooled(t, g, RecorderConfig{SpoolDir: dir})
			if a.sp.Dir() == b.sp.Dir() {
				t.Fatalf("both recorders spool into %s", a.sp.Dir())
			}
			for i := range 40 {
				if err := a.Record(context.Background(), act(i)); err != nil {
					t.Fatal(err)
				}
				if err := b.Record(context.Background(), act(100+i)); err != nil {
					t.Fatal(err)
				}
			}
			closeWithin(t, a, 50*time.Millisecond)
			closeWithin(t, b, 50*time.Millisecond)
			if n := countRows(t, s); n != 0 {
				t.Fatalf("rows while the store was down = %d", n)
			}

			g.down.Store(false)
			c := openSpooled(t, g, RecorderConfig{SpoolDir: dir})
			if err := closeWithin(t, c, 20*time.Second); err != nil {
				t.Fatal(err)
			}
			if st := c.Stats(); st.Written != 80 || st.Replayed != 80 {
				t.Fatalf("stats after adoption: written %d, replayed %d, want 80 and 80", st.Written, st.Replayed)
			}
			if n := countRows(t, s); n != 80 {
				t.Fatalf("rows = %d, want 80", n)
			}
			// Nothing is left to adopt: a further start writes nothing again.
			e := openSpooled(t, g, RecorderConfig{SpoolDir: dir})
			if err := closeWithin(t, e, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if n := countRows(t, s); n != 80 {
				t.Fatalf("rows after another start = %d, want 80", n)
			}
		})
	}
}

// volatileWriter is a memWriter whose writes are durable only once
// SyncWrites succeeds, as SQLite's commits with synchronous=NORMAL: a power
// loss keeps only what was synced (afterPowerLoss).
type volatileWriter struct {
	*memWriter
	failSync atomic.Bool
	syncs    atomic.Int64
	synced   atomic.Int64 // how many of memWriter.order are durable
}

func (v *volatileWriter) SyncWrites(ctx context.Context) error {
	if v.failSync.Load() {
		return errors.New("fsync: input/output error")
	}
	v.syncs.Add(1)
	v.memWriter.mu.Lock()
	v.synced.Store(int64(len(v.memWriter.order)))
	v.memWriter.mu.Unlock()
	return ctx.Err()
}

// afterPowerLoss returns the store as a power loss would leave it: the
// synced rows only.
func (v *volatileWriter) afterPowerLoss() *volatileWriter {
	m := newMemWriter()
	for _, a := range v.all()[:v.synced.Load()] {
		m.rows[a.ID] = a
		m.order = append(m.order, a.ID)
	}
	return &volatileWriter{memWriter: m}
}

// TestSpoolForgetsOnlyDurableWrites: the spool acknowledges events only
// once the store has synced them (storedriver.SyncWrites). While the sync
// fails, events the store has committed but could still lose stay in the
// spool, and a power loss followed by a restart writes them again; once
// synced, a restart finds nothing left to write.
func TestSpoolForgetsOnlyDurableWrites(t *testing.T) {
	dir := t.TempDir()
	v := &volatileWriter{memWriter: newMemWriter()}
	v.failSync.Store(true)
	rec := openSpooled(t, v, RecorderConfig{SpoolDir: dir, BatchSize: 50})
	for i := range 300 {
		if err := rec.Record(context.Background(), act(i)); err != nil {
			t.Fatalf("Record: %v", err)
		}
	}
	if err := closeWithin(t, rec, 20*time.Second); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := v.count(); n != 300 {
		t.Fatalf("%d events written before the power loss, want 300", n)
	}

	// restart loses power (keeping durable of the stored events), runs a
	// Recorder on the spool until it has written what it holds, and checks
	// that it replayed replayed events and that 300 are stored after it.
	restart := func(step string, durable int, replayed int64) {
		t.Helper()
		v = v.afterPowerLoss()
		if n := v.count(); n != durable {
			t.Fatalf("%s: %d events durable after the power loss, want %d", step, n, durable)
		}
		rec := openSpooled(t, v, RecorderConfig{SpoolDir: dir, BatchSize: 50})
		if err := closeWithin(t, rec, 20*time.Second); err != nil {
			t.Fatalf("%s: Close: %v", step, err)
		}
		if st := rec.Stats(); st.Replayed != replayed || v.count() != 300 {
			t.Fatalf("%s: %d replayed, %d stored; want %d and 300", step, st.Replayed, v.count(), replayed)
		}
	}
	// The power loss takes every write; the spool still has them.
	restart("after the power loss", 0, 300)
	if v.syncs.Load() == 0 {
		t.Fatal("the store was never synced")
	}
	// Synced before the spool let go: another power loss loses nothing,
	// and a restart has nothing to write again.
	restart("after a synced run", 300, 0)
}

// TestRecordWithoutSpoolSyncs: without a spool, Record answers once the
// store has synced the activity, and an activity the store could not sync
// is answered with the error (the caller may retry), not acknowledged.
func TestRecordWithoutSpoolSyncs(t *testing.T) {
	v := &volatileWriter{memWriter: newMemWriter()}
	rec := openSpooled(t, v, RecorderConfig{})
	defer closeWithin(t, rec, 5*time.Second)
	if err := rec.Record(context.Background(), act(1)); err != nil {
		t.Fatalf("Record: %v", err)
	}
	if got := v.afterPowerLoss().count(); got != 1 {
		t.Fatalf("%d activities durable after Record returned, want 1", got)
	}
	v.failSync.Store(true)
	if err := rec.Record(context.Background(), act(2)); err == nil {
		t.Fatal("Record acknowledged an activity the store could not sync")
	}
}
