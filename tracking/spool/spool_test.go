package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func open(t *testing.T, dir string, opt Config) (*Spool, Recovery) {
	t.Helper()
	s, rec, err := Open(dir, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, rec
}

// readAll reads every available record and returns their payloads and the
// position after the last one.
func readAll(t *testing.T, s *Spool) ([]string, Pos) {
	t.Helper()
	var out []string
	var pos Pos
	for {
		recs, p, err := s.Read(100)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		pos = p
		if len(recs) == 0 {
			return out, pos
		}
		for _, r := range recs {
			out = append(out, string(r.Data))
		}
	}
}

func TestAppendReadAckReopen(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, Config{SegmentBytes: 4096, MaxBytes: 1 << 20})
	for i := range 300 {
		if err := s.Append([]byte(fmt.Sprintf("event-%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Held != 300 || st.Segments < 2 || st.OldestAge <= 0 {
		t.Fatalf("stats after append: %+v", st)
	}
	recs, pos, err := s.Read(100)
	if err != nil || len(recs) != 100 || string(recs[0].Data) != "event-000" || string(recs[99].Data) != "event-099" {
		t.Fatalf("first read: %d records, err %v", len(recs), err)
	}
	if err := s.Ack(pos); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Held != 200 {
		t.Fatalf("held after ack = %d, want 200", st.Held)
	}
	// Read more without acknowledging: they come back after a reopen.
	if recs, _, _ := s.Read(50); len(recs) != 50 {
		t.Fatalf("second read: %d records", len(recs))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, rec := open(t, dir, Config{SegmentBytes: 4096, MaxBytes: 1 << 20})
	if rec.Records != 200 || rec.CorruptBytes != 0 {
		t.Fatalf("recovery = %+v, want 200 records", rec)
	}
	got, pos := readAll(t, s2)
	if len(got) != 200 || got[0] != "event-100" || got[199] != "event-299" {
		t.Fatalf("replayed %d records, first %q", len(got), got[0])
	}
	if err := s2.Ack(pos); err != nil {
		t.Fatal(err)
	}
	st := s2.Stats()
	if st.Held != 0 || st.Segments != 1 || st.OldestAge != 0 {
		t.Fatalf("stats after full ack: %+v", st)
	}
	// Appends after a reopen go on in order.
	if err := s2.Append([]byte("late")); err != nil {
		t.Fatal(err)
	}
	if got, _ := readAll(t, s2); len(got) != 1 || got[0] != "late" {
		t.Fatalf("after reopen append: %q", got)
	}
}

func TestGroupCommit(t *testing.T) {
	s, _ := open(t, t.TempDir(), Config{})
	const writers, each = 16, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := s.Append([]byte(fmt.Sprintf("%d-%d", w, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	if st.Appended != writers*each {
		t.Fatalf("appended %d, want %d", st.Appended, writers*each)
	}
	if st.Fsyncs >= st.Appended {
		t.Fatalf("%d fsyncs for %d appends: no group commit", st.Fsyncs, st.Appended)
	}
	got, _ := readAll(t, s)
	seen := map[string]bool{}
	for _, g := range got {
		if seen[g] {
			t.Fatalf("record %q read twice", g)
		}
		seen[g] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("read %d distinct records, want %d", len(seen), writers*each)
	}
}

func TestTornAndCorruptTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		harm func(t *testing.T, path string, size int64)
	}{
		{"torn", func(t *testing.T, path string, size int64) {
			// A crash in the middle of the last record.
			if err := os.Truncate(path, size-5); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbage", func(t *testing.T, path string, size int64) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("\x05\x00\x00\x00garbage-garbage-garbage"))
			f.Close()
		}},
		{"flipped", func(t *testing.T, path string, size int64) {
			// A damaged byte in the third record's payload.
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteAt([]byte{'X'}, 2*(HeaderBytes+7)+HeaderBytes+2)
			f.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := open(t, dir, Config{})
			for i := range 5 {
				if err := s.Append([]byte(fmt.Sprintf("rec-%03d", i))); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
			if len(segs) != 1 {
				t.Fatalf("segments: %v", segs)
			}
			fi, _ := os.Stat(segs[0])
			tc.harm(t, segs[0], fi.Size())

			// Twice: the second open must find a clean spool (no crash loop).
			for round := range 2 {
				s2, rec, err := Open(dir, Config{})
				if err != nil {
					t.Fatalf("open %d: %v", round, err)
				}
				got, _ := readAll(t, s2)
				want := map[string]int{"torn": 4, "garbage": 5, "flipped": 2}[tc.name] + round // plus "after" of round 0
				if len(got) != want {
					t.Fatalf("open %d: %d valid records kept, want %d", round, len(got), want)
				}
				if round == 0 && (rec.CorruptBytes == 0 || rec.CorruptSegments != 1) {
					t.Fatalf("recovery %+v: corrupt tail not counted", rec)
				}
				if round == 1 && rec.CorruptBytes != 0 {
					t.Fatalf("second open found corruption again: %+v", rec)
				}
				if s2.Stats().CorruptBytes != rec.CorruptBytes {
					t.Fatalf("stats corrupt bytes %d, recovery %d", s2.Stats().CorruptBytes, rec.CorruptBytes)
				}
				// New appends after the cut are readable.
				if err := s2.Append([]byte("after")); err != nil {
					t.Fatal(err)
				}
				s2.Close()
			}
			aside, _ := filepath.Glob(filepath.Join(dir, "corrupt", "*.bad"))
			if len(aside) != 1 {
				t.Fatalf("moved aside: %v", aside)
			}
		})
	}
}

func TestByteCap(t *testing.T) {
	s, _ := open(t, t.TempDir(), Config{MaxBytes: 10 * (HeaderBytes + 10)})
	for i := range 10 {
		if err := s.Append([]byte(fmt.Sprintf("0123456-%02d", i)[:10])); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	err := s.Append([]byte("0123456789"))
	if !errors.Is(err, ErrFull) {
		t.Fatalf("append past the cap: %v, want ErrFull", err)
	}
	if st := s.Stats(); st.Full != 1 || st.Held != 10 {
		t.Fatalf("stats: %+v", st)
	}
	if _, err := s.AppendAsync(make([]byte, MaxRecordBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("huge record: %v", err)
	}
}

func TestSegmentsDeletedAfterAck(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, Config{SegmentBytes: 4096, MaxBytes: 64 << 10})
	payload := make([]byte, 1000)
	// Far more than the cap passes through as long as the reader keeps up.
	for range 400 {
		if err := s.Append(payload); err != nil {
			t.Fatal(err)
		}
		recs, pos, err := s.Read(10)
		if err != nil || len(recs) == 0 {
			t.Fatalf("read: %d, %v", len(recs), err)
		}
		if err := s.Ack(pos); err != nil {
			t.Fatal(err)
		}
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) > 2 {
		t.Fatalf("%d segment files left after everything was acknowledged", len(segs))
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, Config{})
	if _, _, err := Open(dir, Config{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}

func TestClosed(t *testing.T) {
	s, _ := open(t, t.TempDir(), Config{})
	s.Close()
	if err := s.Append([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
}

// TestAckBeyondSegments: an ack file naming a later segment than any left
// on disk (they were all acknowledged and deleted) must not make the next
// recovery delete new, unacknowledged records.
func TestAckBeyondSegments(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, Config{SegmentBytes: 4096, MaxBytes: 1 << 20})
	for range 100 {
		if err := s.Append(make([]byte, 200)); err != nil {
			t.Fatal(err)
		}
	}
	_, pos := readAll(t, s)
	if err := s.Ack(pos); err != nil {
		t.Fatal(err)
	}
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	for _, g := range segs {
		os.Remove(g)
	}
	ack, err := os.ReadFile(filepath.Join(dir, "ack"))
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := open(t, dir, Config{})
	if err := s2.Append([]byte("new")); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	// As if killed before the ack file was written again.
	if err := os.WriteFile(filepath.Join(dir, "ack"), ack, 0o600); err != nil {
		t.Fatal(err)
	}
	s3, rec := open(t, dir, Config{})
	if got, _ := readAll(t, s3); rec.Records != 1 || len(got) != 1 || got[0] != "new" {
		t.Fatalf("after reopen: recovery %+v, records %q", rec, got)
	}
}
