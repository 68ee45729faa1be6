package storedriver

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// EncodeCursor returns the opaque keyset cursor that follows the row
// (createdAt, id) in newest-first order.
func EncodeCursor(createdAt time.Time, id string) string {
	raw := strconv.FormatInt(createdAt.UnixMicro(), 36) + "." + id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor parses a cursor made by EncodeCursor. A malformed cursor is
// a *ValidationError on field "cursor".
func DecodeCursor(cursor string) (createdAt time.Time, id string, err error) {
	bad := Invalid("cursor", "malformed cursor")
	raw, derr := base64.RawURLEncoding.DecodeString(cursor)
	if derr != nil {
		return time.Time{}, "", bad
	}
	ts, rest, ok := strings.Cut(string(raw), ".")
	if !ok {
		return time.Time{}, "", bad
	}
	us, perr := strconv.ParseInt(ts, 36, 64)
	if perr != nil {
		return time.Time{}, "", bad
	}
	if id, ok = store.NormalizeUUID(rest); !ok {
		return time.Time{}, "", bad
	}
	return time.UnixMicro(us).UTC(), id, nil
}

// FinishPage completes a page whose activities were read with limit+1
// rows: the extra row is dropped and sets HasNext and the NextCursor that
// follows the last activity kept.
func FinishPage(page *store.ActivityPage, limit int) {
	if len(page.Activities) <= limit {
		return
	}
	page.Activities = page.Activities[:limit]
	page.HasNext = true
	last := page.Activities[limit-1]
	page.NextCursor = EncodeCursor(last.CreatedAt, last.ID)
}
