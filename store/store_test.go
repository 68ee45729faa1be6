package store_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
	"github.com/advisoranalytics/advisor-analytics/store/storetest"
)

func TestNewIDIsTimeOrderedV7(t *testing.T) {
	seen := map[string]bool{}
	before := time.Now().UnixMilli()
	prev := ""
	for i := 0; i < 1000; i++ {
		if i%250 == 0 {
			time.Sleep(2 * time.Millisecond) // a later millisecond sorts after
		}
		id := store.NewID()
		if !store.ValidUUID(id) {
			t.Fatalf("NewID() = %q, not a UUID", id)
		}
		if id[14] != '7' || !strings.ContainsRune("89ab", rune(id[19])) {
			t.Fatalf("NewID() = %q, not version 7 / RFC 9562 variant", id)
		}
		ms, err := strconv.ParseInt(strings.ReplaceAll(id[:13], "-", ""), 16, 64)
		if err != nil || ms < before || ms > time.Now().UnixMilli() {
			t.Fatalf("NewID() = %q: time %d not within [%d, now] (%v)", id, ms, before, err)
		}
		if i%250 == 0 && id <= prev {
			t.Fatalf("NewID() = %q made milliseconds after %q sorts before it", id, prev)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id], prev = true, id
	}
}

func TestValidUUID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"3b241101-e2bb-4255-8caf-4136c566a962", true},
		{"3B241101-E2BB-4255-8CAF-4136C566A962", true},
		{"3b241101e2bb42558caf4136c566a962", false},
		{"3b241101-e2bb-4255-8caf-4136c566a96", false},
		{"3b241101-e2bb-4255-8caf-4136c566a96g", false},
		{"3b241101_e2bb-4255-8caf-4136c566a962", false},
		{"", false},
		{"' OR 1=1 --", false},
	}
	for _, tt := range tests {
		if got := store.ValidUUID(tt.in); got != tt.want {
			t.Errorf("ValidUUID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got, ok := store.NormalizeUUID("3B241101-E2BB-4255-8CAF-4136C566A962"); !ok || got != "3b241101-e2bb-4255-8caf-4136c566a962" {
		t.Errorf("NormalizeUUID = %q, %v", got, ok)
	}
}

// naiveNormalizeUUID is the obvious implementation: NormalizeUUID must
// agree with it on every input, and BenchmarkNormalizeUUID compares them.
func naiveNormalizeUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	for i := range 36 {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return "", false
			}
		}
	}
	return strings.ToLower(s), true
}

func FuzzNormalizeUUID(f *testing.F) {
	for _, s := range []string{"3b241101-e2bb-4255-8caf-4136c566a962", "3B241101-E2BB-4255-8CAF-4136C566A962",
		"3b241101-E2bb-4255-8caf-4136c566a96G", "3b241101-e2bb-4255-8caf-4136c566a9\xff2", "3b241101-e2bb-4255-8caf+4136c566a962",
		"zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, wantOK := naiveNormalizeUUID(s)
		got, ok := store.NormalizeUUID(s)
		if got != want || ok != wantOK {
			t.Fatalf("NormalizeUUID(%q) = %q, %v; want %q, %v", s, got, ok, want, wantOK)
		}
		if v := store.ValidUUID(s); v != wantOK {
			t.Fatalf("ValidUUID(%q) = %v, want %v", s, v, wantOK)
		}
	})
}

// BenchmarkNormalizeUUID: an id in lower case (as the store makes them),
// one in upper case, and an invalid one, against naiveNormalizeUUID.
func BenchmarkNormalizeUUID(b *testing.B) {
	for _, impl := range []struct {
		name string
		fn   func(string) (string, bool)
	}{{"naive", naiveNormalizeUUID}, {"table", store.NormalizeUUID}} {
		for _, in := range []struct{ name, s string }{{"lower", "01a24798-a9e6-72be-a77e-4b2e2b96d6a1"},
			{"upper", "01A24798-A9E6-72BE-A77E-4B2E2B96D6A1"}, {"invalid", "01a24798-a9e6-72be-a77e-4b2e2b96d6aX"}} {
			b.Run(impl.name+"/"+in.name, func(b *testing.B) {
				for b.Loop() {
					_, _ = impl.fn(in.s)
				}
			})
		}
	}
}

func TestLabelsAndValidation(t *testing.T) {
	if got := store.ReportCost.Label(); got != "Cost Optimization" {
		t.Errorf("Label = %q", got)
	}
	if store.Period("hourly").Valid() || !store.PeriodWeekly.Valid() {
		t.Error("Period.Valid misbehaves")
	}
	err := fmt.Errorf("sqlite: get client: %w", storedriver.Invalid("client_id", "must be a UUID"))
	if ve, ok := errors.AsType[*store.ValidationError](err); !ok || ve.Field != "client_id" || err.Error() != "sqlite: get client: invalid client_id: must be a UUID" {
		t.Errorf("errors.AsType(%v) = %v, %v", err, ve, ok)
	}
	if _, ok := errors.AsType[*store.ValidationError](errors.New("x")); ok {
		t.Error("errors.AsType accepted a plain error")
	}
}

func TestActivityListParamsNormalize(t *testing.T) {
	got, err := store.ActivityListParams{}.Normalize()
	if err != nil || got.Limit != store.ListLimitDefault {
		t.Errorf("zero params = %+v, %v; want Limit %d", got, err, store.ListLimitDefault)
	}
	if got, err := (store.ActivityListParams{Limit: store.ListLimitMax, Offset: 5}).Normalize(); err != nil || got.Limit != store.ListLimitMax || got.Offset != 5 {
		t.Errorf("largest limit = %+v, %v", got, err)
	}
	for _, tt := range []struct {
		p     store.ActivityListParams
		field string
	}{
		{store.ActivityListParams{Limit: -1}, "limit"},
		{store.ActivityListParams{Limit: store.ListLimitMax + 1}, "limit"},
		{store.ActivityListParams{Offset: -1}, "offset"},
		{store.ActivityListParams{Offset: 1, Cursor: "x"}, "offset"},
	} {
		_, err := tt.p.Normalize()
		if got := storetest.FieldOf(t, err); got != tt.field {
			t.Errorf("Normalize(%+v) field = %q, want %q", tt.p, got, tt.field)
		}
	}
}

func TestActivitySummaryParamsNormalize(t *testing.T) {
	got, err := store.ActivitySummaryParams{}.Normalize()
	if err != nil || got.GroupBy != store.GroupByType {
		t.Errorf("zero params = %+v, %v; want GroupBy %q", got, err, store.GroupByType)
	}
	for _, g := range []store.SummaryGroup{store.GroupByType, store.GroupByUser, store.GroupByDay} {
		if got, err := (store.ActivitySummaryParams{GroupBy: g, Limit: 20}).Normalize(); err != nil || got.GroupBy != g {
			t.Errorf("GroupBy %q = %+v, %v", g, got, err)
		}
	}
	for _, tt := range []struct {
		p     store.ActivitySummaryParams
		field string
	}{
		{store.ActivitySummaryParams{GroupBy: "client"}, "group_by"},
		{store.ActivitySummaryParams{Limit: -1}, "limit"},
	} {
		_, err := tt.p.Normalize()
		if got := storetest.FieldOf(t, err); got != tt.field {
			t.Errorf("Normalize(%+v) field = %q, want %q", tt.p, got, tt.field)
		}
	}
}
