package analytics

import (
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/dates"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// DateRange is a parsed date_from/date_to pair: both ends inclusive, zero
// when absent. FromText and ToText keep the parameters as given, for
// echoing.
type DateRange struct {
	// From and To are the inclusive bounds; zero when absent.
	From, To time.Time
	// FromText and ToText are date_from and date_to as given.
	FromText, ToText string
}

// query reads URL parameters with the rules every route shares.
type query struct {
	v   url.Values
	loc *time.Location
}

func (q query) str(name string) string { return strings.TrimSpace(q.v.Get(name)) }

// integer parses name as a base-10 integer; def when absent. Values beyond
// the int range saturate (they are clamped by the caller anyway).
func (q query) integer(name string, def int) (int, error) {
	s := q.str(name)
	if s == "" {
		return def, nil
	}
	return parseInteger(name, s)
}

func parseInteger(name, s string) (int, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			if strings.HasPrefix(s, "-") {
				return math.MinInt, nil
			}
			return math.MaxInt, nil
		}
		return 0, badParam(name, "%s must be an integer", name)
	}
	if n > math.MaxInt {
		return math.MaxInt, nil
	}
	if n < math.MinInt {
		return math.MinInt, nil
	}
	return int(n), nil
}

// uuid parses name as a UUID (lower-cased); "" when absent.
func (q query) uuid(name string) (string, error) {
	s := q.str(name)
	if s == "" {
		return "", nil
	}
	id, ok := store.NormalizeUUID(s)
	if !ok {
		return "", badParam(name, "%s must be a UUID", name)
	}
	return id, nil
}

// dates parses date_from and date_to.
func (q query) dates() (DateRange, error) {
	var r DateRange
	r.FromText, r.ToText = q.str("date_from"), q.str("date_to")
	var err error
	if r.FromText != "" {
		if r.From, _, err = dates.Parse(r.FromText, q.loc); err != nil {
			return r, badParam("date_from", "Invalid date_from format. Use ISO format (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)")
		}
	}
	if r.ToText != "" {
		var dateOnly bool
		if r.To, dateOnly, err = dates.Parse(r.ToText, q.loc); err != nil {
			return r, badParam("date_to", "Invalid date_to format. Use ISO format (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)")
		}
		if dateOnly {
			// A date-only date_to covers that whole day: local, or at
			// the offset it gives.
			r.To = dates.DayEnd(r.To, r.To.Location())
		}
	}
	if !r.From.IsZero() && !r.To.IsZero() && r.From.After(r.To) {
		return r, badParam("date_from", "date_from must not be after date_to")
	}
	r.From, r.To = utcOrZero(r.From), utcOrZero(r.To)
	return r, nil
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
