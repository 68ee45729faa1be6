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
