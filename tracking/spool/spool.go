// Package spool is a durable, append-only queue of records on local disk:
// the write-ahead buffer the tracking Recorder keeps in front of its store.
//
// Records are appended to numbered segment files. Each record is framed as
//
//	length  uint32 little endian (of the payload)
//	crc     uint32 little endian, CRC-32C (Castagnoli) of time and payload
//	time    int64 little endian, Unix nanoseconds of the append
//	payload length bytes
//
// Append returns once the record is written and fsynced; concurrent
// appenders share one write and one fsync (group commit). One reader takes
// the records in append order (Read) and acknowledges them once they are
// stored elsewhere (Ack); fully acknowledged segments are deleted. The
// acknowledged position is kept in a small file written without fsync: after
// a crash, a reader may see again records it had acknowledged just before,
// so consumers must be idempotent.
//
// On Open, every segment is checked record by record. A torn or corrupt
// record (a crash in the middle of a write, a damaged disk block) ends the
// segment's valid prefix: the bytes from it on are moved to the "corrupt"
// subdirectory, counted in Stats, and the segment is truncated to the valid
// prefix. Open never fails because of a segment's content.
//
// The spool holds at most Config.MaxBytes of segment data. Past it, Append
// refuses new records with ErrFull and counts them: the spool never deletes
// records that were not acknowledged. A failed write (a full disk, an I/O
// error) returns the error to the appenders of that group commit, removes
// the partly written bytes, and leaves the spool usable.
package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults.
const (
	// MaxBytesDefault is the default cap on the bytes of unacknowledged
	// segment data: 1 GiB.
	MaxBytesDefault = 1 << 30
	// SegmentBytesDefault is the default size at which a segment file is
	// closed and a new one started: 64 MiB (at most MaxBytes/4).
	SegmentBytesDefault = 64 << 20
	// MaxRecordBytes is the largest payload Append accepts: 4 MiB.
	MaxRecordBytes = 4 << 20
	// HeaderBytes is the size of a record's frame header.
	HeaderBytes = 16
)

var (
	// ErrFull is returned by Append when the records would take the spool
	// past Config.MaxBytes.
	ErrFull = errors.New("spool: full")
	// ErrClosed is returned by Append and Read after Close.
	ErrClosed = errors.New("spool: closed")
	// ErrTooLarge is returned by Append for a payload over MaxRecordBytes.
	ErrTooLarge = errors.New("spool: record too large")
	// ErrLocked is returned by Open when another process has the
	// directory open.
	ErrLocked = errors.New("spool: directory in use by another process")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Config configures a Spool. The zero value means every default.
type Config struct {
	// MaxBytes caps the unacknowledged segment data on disk. Defaults to
	// MaxBytesDefault.
	MaxBytes int64
	// SegmentBytes is the size past which appends go to a new segment.
	// Defaults to SegmentBytesDefault, at most MaxBytes/4.
	SegmentBytes int64
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// BeforeAck, when set, is called before Ack writes an acknowledged
	// position to disk or deletes segments: the acknowledged records must
	// be durable where they went by the time it returns (see
	// storedriver.SyncWrites). If it fails, Ack keeps the position in
	// memory only and leaves the segments, so that after a crash the
	// records are read again; the next Ack tries again.
	BeforeAck func() error
}

// Pos is a position in the spool: the point just after a record.
type Pos struct {
	Seg uint64 // segment number
	Off int64  // byte offset in the segment
	n   int64  // records read before this position since Open
}

// Record is one record returned by Read. Data is valid until the next Read.
type Record struct {
	Time time.Time // when it was appended
	Data []byte
}

// Recovery describes what Open found.
type Recovery struct {
	// Records and Bytes count the unacknowledged records found, which
	// Read returns first.
	Records int64
	Bytes   int64
	// CorruptBytes counts bytes of torn or corrupt tails moved aside,
	// CorruptSegments the segments they were cut from.
	CorruptBytes    int64
	CorruptSegments int
}

// Stats is a snapshot of a Spool's figures.
type Stats struct {
	// Bytes is the segment data on disk (acknowledged segments are
	// deleted), Segments the number of segment files.
	Bytes    int64 `json:"bytes"`
	Segments int   `json:"segments"`
	// MaxBytes is the cap.
	MaxBytes int64 `json:"max_bytes"`
	// Held is the number of records appended (or recovered) and not yet
	// acknowledged.
	Held int64 `json:"held"`
	// OldestAge is the age of the oldest unacknowledged record (zero when
	// none).
	OldestAge time.Duration `json:"oldest_age_ns"`
	// Appended counts records appended since Open; Full counts records
	// refused with ErrFull; AppendErrors counts records refused because a
	// write or fsync failed.
	Appended     int64 `json:"appended"`
	Full         int64 `json:"full"`
	AppendErrors int64 `json:"append_errors"`
	// Fsyncs counts group commits.
	Fsyncs int64 `json:"fsyncs"`
	// CorruptBytes counts bytes moved aside as torn or corrupt.
	CorruptBytes int64 `json:"corrupt_bytes"`
	// LastError is the last write error (empty if none).
	LastError string `json:"last_error,omitempty"`
}

type segment struct {
	seq  uint64
	size int64 // committed bytes
}

// commit is one group commit: every appender of the group waits on done.
type commit struct {
	done chan struct{}
	err  error
}

// Spool is a durable queue in a directory. Append is safe for concurrent
// use; Read and Ack must be called by one goroutine at a time.
type Spool struct {
	dir  string
	opt  Config
	lock io.Closer

	mu       sync.Mutex
	wake     *sync.Cond // signals the flusher
	pending  []byte
	spare    []byte
	pendN    int64
	group    *commit
	closing  bool
	segs     []segment // on disk, ascending; the last one is being appended to when cur != nil
	bytes    int64     // segment bytes + pending
	held     int64
	acked    Pos
	appended int64
	full     int64
	appErrs  int64
	fsyncs   int64
	corrupt  int64
	lastErr  string
	ackSaved time.Time // when the ack file was last written

	ready chan struct{} // capacity 1: committed data available

	// flusher state
	cur     *os.File
	curSeq  uint64
	nextSeq uint64
	flushed chan struct{}

	// reader state
	rpos  Pos
	rfile *os.File
	rseq  uint64
	rbuf  []byte
	rrecs []Record
}

// Open opens (creating it if needed) the spool in dir, recovering what a
// previous process left there.
func Open(dir string, opt Config) (*Spool, Recovery, error) {
	var rec Recovery
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = MaxBytesDefault
	}
	if opt.SegmentBytes <= 0 {
		opt.SegmentBytes = SegmentBytesDefault
	}
	opt.SegmentBytes = max(min(opt.SegmentBytes, opt.MaxBytes/4), 4096)
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, rec, fmt.Errorf("spool: open %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, rec, err
	}
	s := &Spool{dir: dir, opt: opt, lock: lock, ready: make(chan struct{}, 1), flushed: make(chan struct{})}
	s.wake = sync.NewCond(&s.mu)
	s.group = &commit{done: make(chan struct{})}
	if err := s.recover(&rec); err != nil {
		lock.Close()
		return nil, rec, err
	}
	s.rpos = s.acked
	if rec.Records > 0 {
		s.signal()
	}
	go s.flusher()
	return s, rec, nil
}

// Dir returns the spool's directory.
func (s *Spool) Dir() string { return s.dir }

func segName(seq uint64) string { return fmt.Sprintf("%016d.seg", seq) }

func (s *Spool) segPath(seq uint64) string { return filepath.Join(s.dir, segName(seq)) }

// recover reads the acknowledged position, lists and checks the segments.
func (s *Spool) recover(rec *Recovery) error {
	ack, _ := readAck(filepath.Join(s.dir, "ack"))
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: open %s: %w", s.dir, err)
	}
	var seqs []uint64
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, ".seg") {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 10, 64)
		if err != nil {
			continue
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		s.nextSeq = seq + 1
		if seq < ack.Seg {
			if err := os.Remove(s.segPath(seq)); err != nil {
				return fmt.Errorf("spool: remove acknowledged segment: %w", err)
			}
			continue
		}
		from := int64(0)
		if seq == ack.Seg {
			from = ack.Off
		}
		size, n, nbytes, err := s.check(seq, from, rec)
		if err != nil {
			return err
		}
		if seq == ack.Seg && ack.Off > size {
			ack.Off = size
		}
		rec.Records += n
		rec.Bytes += nbytes
		s.segs = append(s.segs, segment{seq: seq, size: size})
		s.bytes += size
	}
	switch {
	case len(s.segs) == 0:
		// Everything was acknowledged and the files are gone: the next
		// segment must not sort below the recorded position, or the next
		// recovery would delete it as acknowledged.
		s.nextSeq = max(s.nextSeq, ack.Seg+1)
		ack = Pos{Seg: s.nextSeq}
	case s.segs[0].seq > ack.Seg:
		ack = Pos{Seg: s.segs[0].seq}
	}
	s.acked = ack
	s.held = rec.Records
	s.corrupt = rec.CorruptBytes
	return nil
}

// check validates segment seq record by record and cuts it at the first
// bad one. It returns the valid size and the records and bytes from offset
// from on.
func (s *Spool) check(seq uint64, from int64, rec *Recovery) (size, n, nbytes int64, err error) {
	path := s.segPath(seq)
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("spool: read segment %s: %w", path, err)
	}
	off := int64(0)
	for off < int64(len(data)) {
		l, ok := frameAt(data[off:])
		if !ok {
			break
		}
		if off >= from {
			n++
			nbytes += l
		}
		off += l
	}
	if off == int64(len(data)) {
		return off, n, nbytes, nil
	}
	// Torn or corrupt from off on: move the rest aside, keep the prefix.
	cdir := filepath.Join(s.dir, "corrupt")
	if err := os.MkdirAll(cdir, 0o700); err != nil {
		return 0, 0, 0, fmt.Errorf("spool: move corrupt tail aside: %w", err)
	}
	aside := filepath.Join(cdir, fmt.Sprintf("%016d-%d.bad", seq, off))
	if err := os.WriteFile(aside, data[off:], 0o600); err != nil {
		return 0, 0, 0, fmt.Errorf("spool: move corrupt tail aside: %w", err)
	}
	if err := os.Truncate(path, off); err != nil {
		return 0, 0, 0, fmt.Errorf("spool: cut corrupt tail of %s: %w", path, err)
	}
	rec.CorruptBytes += int64(len(data)) - off
	rec.CorruptSegments++
	return off, n, nbytes, nil
}

// frameAt returns the length of the valid record at the start of b.
func frameAt(b []byte) (int64, bool) {
	if len(b) < HeaderBytes {
		return 0, false
	}
	l := binary.LittleEndian.Uint32(b)
	if l > MaxRecordBytes || int64(len(b)) < HeaderBytes+int64(l) {
		return 0, false
	}
	if crc32.Checksum(b[8:HeaderBytes+int(l)], castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, false
	}
	return HeaderBytes + int64(l), true
}

func readAck(path string) (Pos, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Pos{}, err
	}
	if len(b) != 20 || crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:]) {
		return Pos{}, errors.New("spool: bad ack file")
	}
	return Pos{Seg: binary.LittleEndian.Uint64(b), Off: int64(binary.LittleEndian.Uint64(b[8:]))}, nil
}

// Append writes the records and returns once they are on disk (fsynced).
// Either all of them are appended or none. It returns ErrFull, without
// writing, when they would take the spool past MaxBytes.
func (s *Spool) Append(payloads ...[]byte) error {
	p, err := s.AppendAsync(payloads...)
	if err != nil {
		return err
	}
	return p.Wait()
}

// Pending is an append in flight; Wait returns its outcome.
type Pending struct{ c *commit }

// Wait waits until the append is on disk and returns its error.
func (p Pending) Wait() error {
	<-p.c.done
	return p.c.err
}

// AppendAsync is Append without the wait: the records are queued for the
// next group commit. Call Wait on the result to learn the outcome.
func (s *Spool) AppendAsync(payloads ...[]byte) (Pending, error) {
	size := int64(0)
	for _, p := range payloads {
		if len(p) > MaxRecordBytes {
			return Pending{}, fmt.Errorf("spool: append %d bytes: %w", len(p), ErrTooLarge)
		}
		size += HeaderBytes + int64(len(p))
	}
	ts := s.opt.Now().UnixNano()
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return Pending{}, ErrClosed
	}
	if s.bytes+size > s.opt.MaxBytes {
		s.full += int64(len(payloads))
		s.mu.Unlock()
		return Pending{}, fmt.Errorf("spool: append %d records: %w (%d of %d bytes used)", len(payloads), ErrFull, s.bytes, s.opt.MaxBytes)
	}
	for _, p := range payloads {
		var h [HeaderBytes]byte
		binary.LittleEndian.PutUint32(h[:], uint32(len(p)))
		binary.LittleEndian.PutUint64(h[8:], uint64(ts))
		crc := crc32.Update(crc32.Checksum(h[8:], castagnoli), castagnoli, p)
		binary.LittleEndian.PutUint32(h[4:], crc)
		s.pending = append(s.pending, h[:]...)
		s.pending = append(s.pending, p...)
	}
	s.pendN += int64(len(payloads))
	s.bytes += size
	c := s.group
	s.wake.Signal()
	s.mu.Unlock()
	return Pending{c}, nil
}

// flusher writes pending records, one group commit at a time.
func (s *Spool) flusher() {
	defer close(s.flushed)
	for {
		s.mu.Lock()
		for len(s.pending) == 0 && !s.closing {
			s.wake.Wait()
		}
		if len(s.pending) == 0 {
			s.mu.Unlock()
			if s.cur != nil {
				s.cur.Close()
			}
			return
		}
		buf, n, c := s.pending, s.pendN, s.group
		s.pending, s.spare, s.pendN = s.spare[:0], nil, 0
		s.group = &commit{done: make(chan struct{})}
		s.mu.Unlock()

		err := s.write(buf)

		s.mu.Lock()
		if err != nil {
			s.bytes -= int64(len(buf))
			s.appErrs += n
			s.lastErr = err.Error()
		} else {
			s.appended += n
			s.held += n
			s.fsyncs++
		}
		s.spare = buf[:0]
		s.mu.Unlock()
		c.err = err
		close(c.done)
		if err == nil {
			s.signal()
		}
	}
}

func (s *Spool) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// write appends buf to the current segment (starting a new one when the
// current one is full) and fsyncs it. On error the segment is cut back to
// its committed size.
func (s *Spool) write(buf []byte) error {
	s.mu.Lock()
	var size int64
	if s.cur != nil {
		size = s.segs[len(s.segs)-1].size
	}
	s.mu.Unlock()
	if s.cur != nil && size > 0 && size+int64(len(buf)) > s.opt.SegmentBytes {
		s.cur.Close()
		s.cur = nil
	}
	if s.cur == nil {
		seq := s.nextSeq
		f, err := os.OpenFile(s.segPath(seq), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("spool: create segment: %w", err)
		}
		if err := syncDir(s.dir); err != nil {
			f.Close()
			os.Remove(s.segPath(seq))
			return fmt.Errorf("spool: create segment: %w", err)
		}
		s.nextSeq++
		s.cur, s.curSeq, size = f, seq, 0
		s.mu.Lock()
		s.segs = append(s.segs, segment{seq: seq})
		s.mu.Unlock()
	}
	_, err := s.cur.WriteAt(buf, size)
	if err == nil {
		err = s.cur.Sync()
	}
	if err != nil {
		if terr := s.cur.Truncate(size); terr != nil {
			// Leave the segment as it is: its valid prefix is kept on
			// recovery; appends continue in a new segment.
			s.cur.Close()
			s.cur = nil
		}
		return fmt.Errorf("spool: write %d bytes: %w", len(buf), err)
	}
	s.mu.Lock()
	s.segs[len(s.segs)-1].size = size + int64(len(buf))
	s.mu.Unlock()
	return nil
}

// Ready returns a channel that receives when records may be available to
// Read.
func (s *Spool) Ready() <-chan struct{} { return s.ready }

// Read returns up to limit records after the read position, in append order,
// and the position after the last one. It returns no records when there
// are none. The records' Data is valid until the next Read. Read advances
// the read position but not the acknowledged one (see Ack).
func (s *Spool) Read(limit int) ([]Record, Pos, error) {
	recs := s.rrecs[:0]
	for len(recs) == 0 {
		s.mu.Lock()
		i, _ := slices.BinarySearchFunc(s.segs, s.rpos.Seg, func(g segment, seq uint64) int {
			switch {
			case g.seq < seq:
				return -1
			case g.seq > seq:
				return 1
			}
			return 0
		})
		if i == len(s.segs) {
			s.mu.Unlock()
			return nil, s.rpos, nil
		}
		g, last := s.segs[i], i == len(s.segs)-1
		var next uint64
		if !last {
			next = s.segs[i+1].seq
		}
		s.mu.Unlock()
		if g.seq != s.rpos.Seg {
			s.rpos = Pos{Seg: g.seq, n: s.rpos.n}
		}
		if s.rpos.Off >= g.size {
			if last {
				return nil, s.rpos, nil
			}
			s.rpos = Pos{Seg: next, n: s.rpos.n}
			continue
		}
		if err := s.openReader(g.seq); err != nil {
			return nil, s.rpos, err
		}
		// Enough for limit records of 512 bytes (an activity is 300-400),
		// so a backlog is not read several times over; a record that does
		// not fit makes the read grow below.
		want := min(g.size-s.rpos.Off, min(max(int64(limit)*512, 64<<10), 1<<20))
		for {
			if int64(cap(s.rbuf)) < want {
				s.rbuf = make([]byte, want)
			}
			b := s.rbuf[:want]
			if _, err := s.rfile.ReadAt(b, s.rpos.Off); err != nil {
				return nil, s.rpos, fmt.Errorf("spool: read segment %d: %w", g.seq, err)
			}
			off := 0
			for len(recs) < limit && off < len(b) {
				l, ok := frameAt(b[off:])
				if !ok {
					break
				}
				recs = append(recs, Record{
					Time: time.Unix(0, int64(binary.LittleEndian.Uint64(b[off+8:]))),
					Data: b[off+HeaderBytes : off+int(l)],
				})
				off += int(l)
			}
			if len(recs) == 0 {
				// The first record does not fit, or the data is bad.
				if len(b) >= HeaderBytes {
					need := HeaderBytes + int64(binary.LittleEndian.Uint32(b))
					if need > want && need <= g.size-s.rpos.Off {
						want = need
						continue
					}
				}
				// Corrupt data written while running: skip the segment's rest.
				s.mu.Lock()
				s.corrupt += g.size - s.rpos.Off
				s.lastErr = fmt.Sprintf("spool: corrupt record in segment %d at offset %d", g.seq, s.rpos.Off)
				s.mu.Unlock()
				s.rpos.Off = g.size
				break
			}
			s.rpos.Off += int64(off)
			s.rpos.n += int64(len(recs))
			break
		}
	}
	s.rrecs = recs
	return recs, s.rpos, nil
}

func (s *Spool) openReader(seq uint64) error {
	if s.rfile != nil && s.rseq == seq {
		return nil
	}
	if s.rfile != nil {
		s.rfile.Close()
		s.rfile = nil
	}
	f, err := os.Open(s.segPath(seq))
	if err != nil {
		return fmt.Errorf("spool: open segment %d: %w", seq, err)
	}
	s.rfile, s.rseq = f, seq
	return nil
}

// Ack acknowledges every record before p (a position returned by Read):
// they will not be returned again, and segments wholly before p are
// deleted, once Config.BeforeAck (when set) has succeeded.
func (s *Spool) Ack(p Pos) error {
	s.mu.Lock()
	if p.n > s.acked.n {
		s.held -= p.n - s.acked.n
	}
	s.acked = p
	now := s.opt.Now()
	dropping := len(s.segs) > 1 && s.segs[0].seq < p.Seg
	persist := dropping || now.Sub(s.ackSaved) >= ackInterval
	s.mu.Unlock()
	if !persist {
		return nil
	}
	if s.opt.BeforeAck != nil {
		if err := s.opt.BeforeAck(); err != nil {
			return fmt.Errorf("spool: ack: %w", err)
		}
	}
	s.mu.Lock()
	var drop []uint64
	for len(s.segs) > 1 && s.segs[0].seq < p.Seg {
		drop = append(drop, s.segs[0].seq)
		s.bytes -= s.segs[0].size
		s.segs = s.segs[1:]
	}
	s.ackSaved = now
	s.mu.Unlock()
	return s.saveAck(p, drop)
}

// ackInterval is how often Ack writes the acknowledged position when no
// segment is deleted: each write is a file creation and a rename, which
// would make every fsync of the spool wait for a journal commit. A position
// not yet written only means records read again after a crash.
const ackInterval = 200 * time.Millisecond

// saveAck deletes the segments in drop and writes p to the ack file.
func (s *Spool) saveAck(p Pos, drop []uint64) error {
	var errs []error
	for _, seq := range drop {
		if s.rfile != nil && s.rseq == seq {
			s.rfile.Close()
			s.rfile = nil
		}
		if err := os.Remove(s.segPath(seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	var b [20]byte
	binary.LittleEndian.PutUint64(b[:], p.Seg)
	binary.LittleEndian.PutUint64(b[8:], uint64(p.Off))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	tmp := filepath.Join(s.dir, "ack.tmp")
	if err := os.WriteFile(tmp, b[:], 0o600); err != nil {
		errs = append(errs, err)
	} else if err := os.Rename(tmp, filepath.Join(s.dir, "ack")); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spool: ack: %w", err)
	}
	return nil
}

// Stats returns a snapshot of the spool's figures.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	st := Stats{
		Bytes:        s.bytes - int64(len(s.pending)),
		Segments:     len(s.segs),
		MaxBytes:     s.opt.MaxBytes,
		Held:         s.held,
		Appended:     s.appended,
		Full:         s.full,
		AppendErrors: s.appErrs,
		Fsyncs:       s.fsyncs,
		CorruptBytes: s.corrupt,
		LastError:    s.lastErr,
	}
	// The oldest held record starts at the acknowledged position, or at
	// the start of the next segment holding data.
	at, found := s.acked, false
	for _, g := range s.segs {
		if g.seq == at.Seg && at.Off < g.size {
			found = true
			break
		}
		if g.seq > at.Seg && g.size > 0 {
			at, found = Pos{Seg: g.seq}, true
			break
		}
	}
	s.mu.Unlock()
	if st.Held > 0 && found {
		if f, err := os.Open(s.segPath(at.Seg)); err == nil {
			var h [HeaderBytes]byte
			if _, err := f.ReadAt(h[:], at.Off); err == nil {
				st.OldestAge = max(s.opt.Now().Sub(time.Unix(0, int64(binary.LittleEndian.Uint64(h[8:])))), 0)
			}
			f.Close()
		}
	}
	return st
}

// Close writes what is pending, closes the files and releases the
// directory. Records not acknowledged stay on disk for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	s.wake.Broadcast()
	s.mu.Unlock()
	<-s.flushed
	s.mu.Lock()
	ack := s.acked
	s.mu.Unlock()
	var err error
	if s.opt.BeforeAck != nil {
		// Not durable where they went: the ack file keeps its last
		// position, and the records are read again on the next Open.
		if err = s.opt.BeforeAck(); err != nil {
			err = fmt.Errorf("spool: ack: %w", err)
		}
	}
	if err == nil {
		err = s.saveAck(ack, nil)
	}
	if s.rfile != nil {
		s.rfile.Close()
	}
	return errors.Join(err, s.lock.Close())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
