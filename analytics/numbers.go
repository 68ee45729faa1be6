package analytics

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Decimal is a float rounded for display. It marshals to JSON the way
// Python's json module prints a float: the shortest text that round-trips
// the value, always with a fractional part (50 → 50.0, 12.3 → 12.3), so
// clients written against the original module see the same text. It is
// produced by round, which rounds half-to-even on the decimal value.
type Decimal float64

// MarshalJSON implements json.Marshaler.
func (d Decimal) MarshalJSON() ([]byte, error) {
	f := float64(d)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("analytics: cannot encode %v as a JSON number", f)
	}
	return []byte(formatDecimal(f)), nil
}

// String returns the JSON text of d.
func (d Decimal) String() string { return formatDecimal(float64(d)) }

func formatDecimal(f float64) string {
	if f == 0 {
		return "0.0" // also turns -0 into 0.0
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// round rounds x to places decimal places, half-to-even on the decimal
// value of x (as Python's round: round(12.25, 1) = 12.2, round(26.75, 1) =
// 26.8, round(2.675, 2) = 2.67 because 2.675 is stored as 2.67499…).
// Non-finite values become 0.
func round(x float64, places int) Decimal {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	s := strconv.FormatFloat(x, 'f', places, 64)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	if v == 0 {
		v = 0 // no negative zero
	}
	return Decimal(v)
}

// percentChange is the percentage change from prev to cur, rounded to one
// decimal place: a previous value of 0 gives 100.0 when cur > 0 and 0.0
// otherwise.
func percentChange(cur, prev float64) Decimal {
	if prev == 0 {
		if cur > 0 {
			return 100
		}
		return 0
	}
	return round((cur-prev)/prev*100, 1)
}

// percentOf is part ÷ total × 100 rounded to places; 0 when total is 0.
func percentOf(part, total float64, places int) Decimal {
	if total == 0 {
		return 0
	}
	return round(part/total*100, places)
}

// formatBytes renders a size in binary units: "12.34 MB" below 1 GiB,
// "1.23 GB" from there on ("0.00 MB" for 0).
func formatBytes(n int64) string {
	const mib, gib = 1 << 20, 1 << 30
	if n < gib {
		return strconv.FormatFloat(float64(round(float64(n)/mib, 2)), 'f', 2, 64) + " MB"
	}
	return strconv.FormatFloat(float64(round(float64(n)/gib, 2)), 'f', 2, 64) + " GB"
}

// formatUptime renders a duration as "3 days, 4 hours" (or "4 hours,
// 5 minutes" under a day, "5 minutes" under an hour).
func formatUptime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	days := int64(d / (24 * time.Hour))
	hours := int64(d/time.Hour) % 24
	minutes := int64(d/time.Minute) % 60
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.FormatInt(n, 10) + " " + one + "s"
	}
	switch {
	case days > 0:
		return unit(days, "day") + ", " + unit(hours, "hour")
	case hours > 0:
		return unit(hours, "hour") + ", " + unit(minutes, "minute")
	default:
		return unit(minutes, "minute")
	}
}

// timestampLayout is the response timestamp format: RFC 3339, UTC,
// microsecond precision.
const timestampLayout = "2006-01-02T15:04:05.000000Z"

// Timestamp is a time that marshals as RFC 3339 in UTC with microsecond
// precision ("2025-01-15T10:30:00.123456Z").
type Timestamp time.Time

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(timestampLayout) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var tt time.Time
	if err := tt.UnmarshalJSON(b); err != nil {
		return err
	}
	*t = Timestamp(tt.UTC())
	return nil
}

// Time returns t as a time.Time in UTC.
func (t Timestamp) Time() time.Time { return time.Time(t).UTC() }

func ts(t time.Time) Timestamp { return Timestamp(t.UTC()) }

func tsPtr(t *time.Time) *Timestamp {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}
