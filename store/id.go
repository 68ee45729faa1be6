package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// NewID returns a new time-ordered (version 7, RFC 9562) UUID in its
// canonical lower-case text form: the Unix time in milliseconds, then 74
// random bits. Ids made later sort after those of earlier milliseconds, so
// rows keyed by them are added at the end of an index instead of on a
// random page (recommendations, reports and clients the server names).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[6:]) // never fails (crypto/rand panics on failure)
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(time.Now().UnixMilli()))
	copy(b[0:6], ms[2:8])
	b[6] = (b[6] & 0x0f) | 0x70
	b[8] = (b[8] & 0x3f) | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// ValidUUID reports whether s is a UUID in the canonical 8-4-4-4-12
// hexadecimal form (any version, either case).
func ValidUUID(s string) bool {
	_, ok := uuidCase(s)
	return ok
}

// NormalizeUUID returns s lower-cased when it is a valid UUID, and ok=false
// otherwise. A UUID already in lower case is returned as it is.
func NormalizeUUID(s string) (string, bool) {
	upper, ok := uuidCase(s)
	if !ok {
		return "", false
	}
	if !upper {
		return s, true
	}
	var b [36]byte
	for i := range len(b) {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return string(b[:]), true
}

// uuidHex classes the bytes of a UUID's hexadecimal groups: 0 for any
// other byte, hexLower for a digit or a lower-case letter, hexUpper for an
// upper-case letter.
var uuidHex = func() (t [256]byte) {
	for c := '0'; c <= '9'; c++ {
		t[c] = hexLower
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = hexLower
		t[c-'a'+'A'] = hexUpper
	}
	return t
}()

const (
	hexLower = 1
	hexUpper = 2
)

// uuidCase reports whether s is a canonical UUID and, if so, whether it
// has upper-case letters. The groups are checked apart from the hyphens,
// one table lookup a byte.
func uuidCase(s string) (upper, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false, false
	}
	seen := byte(hexLower)
	for _, g := range [...]string{s[0:8], s[9:13], s[14:18], s[19:23], s[24:36]} {
		for i := range len(g) {
			k := uuidHex[g[i]]
			if k == 0 {
				return false, false
			}
			seen |= k
		}
	}
	return seen&hexUpper != 0, true
}
