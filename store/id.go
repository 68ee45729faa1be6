package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"
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
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

// NormalizeUUID returns s lower-cased when it is a valid UUID, and ok=false
// otherwise.
func NormalizeUUID(s string) (string, bool) {
	if !ValidUUID(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}
