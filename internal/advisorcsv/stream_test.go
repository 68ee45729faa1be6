package advisorcsv

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

// lazyCSV generates an Advisor export of header, then blank records up to
// size bytes, then last, without holding it in memory. When the last byte
// has been read it measures the live heap.
type lazyCSV struct {
	head, last []byte
	filler     []byte
	left       int // filler bytes still to produce
	done       bool
	heapAtEnd  uint64
}

func (l *lazyCSV) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case len(l.head) > 0:
			c := copy(p[n:], l.head)
			l.head = l.head[c:]
			n += c
		case l.left > 0:
			c := copy(p[n:min(len(p), n+l.left)], l.filler[(len(l.filler)-l.left%len(l.filler))%len(l.filler):])
			l.left -= c
			n += c
		case len(l.last) > 0:
			c := copy(p[n:], l.last)
			l.last = l.last[c:]
			n += c
		default:
			if !l.done {
				l.done = true
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				l.heapAtEnd = ms.HeapAlloc
			}
			if n > 0 {
				return n, nil
			}
			return 0, io.EOF
		}
	}
	return n, nil
}

// TestParseStreams checks that Parse does not hold the whole input in
// memory: when it reads the last byte of a 24 MiB file, the live heap has
// grown by much less than the file.
func TestParseStreams(t *testing.T) {
	const size = 24 << 20
	filler := bytes.Repeat([]byte(",,\r\n"), 1024)
	in := &lazyCSV{head: []byte("Category,Business Impact,Recommendation\r\n"), filler: filler, left: size - size%len(filler),
		last: []byte("Cost,High,Delete idle disks\r\n")}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	res, err := Parse(in, Config{MaxBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Recommendations) != 1 || res.Recommendations[0].Recommendation != "Delete idle disks" {
		t.Fatalf("result %+v", res)
	}
	if !in.done {
		t.Fatal("the input was not read to its end")
	}
	if grown := int64(in.heapAtEnd) - int64(before); grown > 4<<20 {
		t.Errorf("the live heap grew by %d MiB while reading a %d MiB file, want under 4 MiB", grown>>20, size>>20)
	}
}

// TestParseCellLimit checks that a row with an imported cell longer than
// MaxCellBytes is skipped with a reason naming the column, and that a
// long cell of a column that is not imported does not matter.
func TestParseCellLimit(t *testing.T) {
	long := strings.Repeat("x", MaxCellBytes+1)
	ok := strings.Repeat("y", MaxCellBytes)
	input := "Category,Recommendation,Resource Name,Notes\r\n" +
		"Cost,Delete idle disks," + long + ",\r\n" +
		"Cost," + long + ",vm,\r\n" +
		"Cost,Right-size," + ok + "," + long + "\r\n"
	res := mustParse(t, []byte(input), Config{})
	if len(res.Recommendations) != 1 || res.Recommendations[0].Recommendation != "Right-size" {
		t.Errorf("imported %d rows, want only Right-size", len(res.Recommendations))
	}
	if len(res.Skipped) != 2 || res.Skipped[0].Row != 2 || res.Skipped[1].Row != 3 ||
		!strings.Contains(res.Skipped[0].Reason, "Resource Name") || !strings.Contains(res.Skipped[1].Reason, "Recommendation") ||
		!strings.Contains(res.Skipped[0].Reason, "longer than") {
		t.Errorf("skipped %+v", res.Skipped)
	}
}

// TestParseChunkBoundaries parses files whose multi-byte characters and
// UTF-16 surrogate pairs fall on every position of the read chunks, read
// whole and one byte at a time, and checks that every row reads back.
func TestParseChunkBoundaries(t *testing.T) {
	var text strings.Builder
	text.WriteString("Category;Recommendation\r\n") // not a comma: the header is looked for again
	var want []string
	for i := 0; text.Len() < 3*readChunk; i++ {
		r := fmt.Sprintf("Réduire 😀 %d %s", i, strings.Repeat("é", i%7))
		want = append(want, strings.TrimSpace(r))
		fmt.Fprintf(&text, "Cost;%s\r\n", r)
	}
	utf16le := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(text.String())) {
		utf16le = append(utf16le, byte(u), byte(u>>8))
	}
	for name, in := range map[string][]byte{"utf-8": []byte(text.String()), "utf-16": utf16le} {
		for rname, wrap := range map[string]func(io.Reader) io.Reader{"whole": func(r io.Reader) io.Reader { return r }, "bytes": iotest.OneByteReader} {
			t.Run(name+"/"+rname, func(t *testing.T) {
				res, err := Parse(wrap(bytes.NewReader(in)), Config{})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range res.Recommendations {
					got = append(got, r.Recommendation)
				}
				if diff := cmp.Diff(want, got); diff != "" || len(res.Skipped) != 0 {
					t.Errorf("rows (-want +got):\n%s\nskipped %v", diff, res.Skipped)
				}
			})
		}
	}
}

// TestParseWindows1252AfterFirstChunk checks the fall-back to
// Windows-1252 when the first byte that is not UTF-8 comes after a few
// chunks of ASCII.
func TestParseWindows1252AfterFirstChunk(t *testing.T) {
	var text bytes.Buffer
	text.WriteString("Category,Recommendation\r\n")
	n := 0
	for ; text.Len() < 2*readChunk; n++ {
		fmt.Fprintf(&text, "Cost,plain %d\r\n", n)
	}
	text.WriteString("Cost,R\xe9duire \x80\r\n")
	res := mustParse(t, text.Bytes(), Config{})
	if res.Encoding != EncodingWindows1252 || len(res.Recommendations) != n+1 || res.Recommendations[n].Recommendation != "Réduire €" {
		t.Errorf("encoding %s, %d rows, last %+v", res.Encoding, len(res.Recommendations), res.Recommendations[len(res.Recommendations)-1])
	}
}
