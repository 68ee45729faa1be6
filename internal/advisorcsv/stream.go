package advisorcsv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// readChunk is the size of the reads from the input.
const readChunk = 32 << 10

// maxHeaderBytes bounds the text read while looking for the header row
// (blank lines and the header itself).
const maxHeaderBytes = 1 << 20

// decodeMode is how a decoder turns bytes into UTF-8 text.
type decodeMode int

const (
	modeUTF8Auto   decodeMode = iota // UTF-8 until a byte is not; then Windows-1252
	modeUTF8Strict                   // UTF-8 after a byte-order mark: invalid bytes are an error
	modeWindows1252
	modeUTF16LE
	modeUTF16BE
)

// limitedReader returns ErrTooLarge once more than n bytes are read.
type limitedReader struct {
	r   io.Reader
	n   int64 // bytes still allowed
	max int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, l.max)
	}
	return n, err
}

// decoder reads the raw file and yields its text as UTF-8: it removes a
// byte-order mark, decodes UTF-16 (with a BOM), falls back to Windows-1252
// at the first byte that is not UTF-8, and rejects NUL characters. It
// holds one chunk of the file at a time.
type decoder struct {
	in    *bufio.Reader
	mode  decodeMode
	carry []byte // an incomplete sequence at the end of the last chunk
	buf   []byte
	out   []byte // decoded text not yet returned
	err   error  // returned once out is empty
}

// newDecoder sniffs the start of r: well-known binary formats and
// byte-order marks.
func newDecoder(r io.Reader) (*decoder, error) {
	in := bufio.NewReaderSize(r, readChunk)
	head, err := in.Peek(8)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		if errors.Is(err, ErrTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("advisorcsv: read: %w", err)
	}
	if reason := binaryKind(head); reason != "" {
		return nil, fmt.Errorf("%w: %s", ErrNotAdvisorCSV, reason)
	}
	d := &decoder{in: in, buf: make([]byte, readChunk)}
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = in.Discard(3)
		d.mode = modeUTF8Strict
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		_, _ = in.Discard(2)
		d.mode = modeUTF16LE
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		_, _ = in.Discard(2)
		d.mode = modeUTF16BE
	}
	return d, nil
}

// encoding names the encoding found so far.
func (d *decoder) encoding() string {
	switch d.mode {
	case modeWindows1252:
		return EncodingWindows1252
	case modeUTF16LE:
		return EncodingUTF16LE
	case modeUTF16BE:
		return EncodingUTF16BE
	}
	return EncodingUTF8
}

func (d *decoder) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		d.fill()
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// fill decodes the next chunk into out, or sets err.
func (d *decoder) fill() {
	n, rerr := io.ReadFull(d.in, d.buf)
	final := false
	switch {
	case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
		final = true
	case rerr != nil:
		if errors.Is(rerr, ErrTooLarge) {
			d.err = rerr
		} else {
			d.err = fmt.Errorf("advisorcsv: read: %w", rerr)
		}
		return
	}
	b := append(d.carry, d.buf[:n]...)
	d.carry = nil
	out, err := d.decode(b, final)
	if err != nil {
		d.err = err
		return
	}
	if bytes.IndexByte(out, 0) >= 0 {
		d.err = fmt.Errorf("%w: binary data (NUL bytes)", ErrNotAdvisorCSV)
		return
	}
	d.out = out
	if final {
		d.err = io.EOF
	}
}

// decode turns b into UTF-8, keeping in carry a sequence cut by the end of
// the chunk (unless final).
func (d *decoder) decode(b []byte, final bool) ([]byte, error) {
	switch d.mode {
	case modeWindows1252:
		return appendWindows1252(nil, b), nil
	case modeUTF16LE, modeUTF16BE:
		return d.decodeUTF16(b, final)
	}
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			i += size
			continue
		}
		if !final && !utf8.FullRune(b[i:]) {
			d.carry = append([]byte(nil), b[i:]...)
			return b[:i], nil
		}
		if d.mode == modeUTF8Strict {
			return nil, fmt.Errorf("%w: invalid UTF-8 after a UTF-8 byte-order mark", ErrNotAdvisorCSV)
		}
		// Not UTF-8: Windows-1252 (as Excel writes it) from here on.
		d.mode = modeWindows1252
		return appendWindows1252(b[:i:i], b[i:]), nil
	}
	return b, nil
}

func (d *decoder) decodeUTF16(b []byte, final bool) ([]byte, error) {
	if len(b)%2 != 0 {
		if final {
			return nil, fmt.Errorf("%w: odd number of bytes in a UTF-16 file", ErrNotAdvisorCSV)
		}
		d.carry = append(d.carry, b[len(b)-1])
		b = b[:len(b)-1]
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		if d.mode == modeUTF16BE {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	if !final && len(u) > 0 && utf16.IsSurrogate(rune(u[len(u)-1])) && u[len(u)-1] < 0xDC00 {
		// A high surrogate whose pair is in the next chunk.
		d.carry = append(append([]byte(nil), b[len(b)-2:]...), d.carry...)
		u = u[:len(u)-1]
	}
	out := make([]byte, 0, len(u)+len(u)/2)
	for _, r := range utf16.Decode(u) {
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}

// appendWindows1252 appends b decoded as Windows-1252 to dst.
func appendWindows1252(dst, b []byte) []byte {
	for _, c := range b {
		switch {
		case c < 0x80:
			dst = append(dst, c)
		case c < 0xA0:
			dst = utf8.AppendRune(dst, windows1252High[c-0x80])
		default:
			dst = utf8.AppendRune(dst, rune(c))
		}
	}
	return dst
}

// recorder keeps what is read through it, up to maxHeaderBytes, so the
// header can be looked for again with another delimiter.
type recorder struct {
	r    io.Reader
	rec  []byte
	over bool // more than maxHeaderBytes were read
}

func (c *recorder) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if !c.over {
		if len(c.rec)+n > maxHeaderBytes {
			c.over, c.rec = true, nil
		} else {
			c.rec = append(c.rec, p[:n]...)
		}
	}
	return n, err
}
