package analytics

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/tracking"
)

// TestServiceAuthorisation calls every Service method with every role:
// authorisation does not depend on the HTTP layer.
func TestServiceAuthorisation(t *testing.T) {
	st := openSQLite(t)
	seed(t, st)
	e := newEnv(t, st, nil)
	s := e.svc
	csvData := advisorSample(t, "advisor_export_example.csv")
	methods := []struct {
		name    string
		minRole Role
		call    func(ctx context.Context, p Principal) error
	}{
		{"Dashboard", "", func(ctx context.Context, p Principal) error { _, err := s.Dashboard(ctx, p); return err }},
		{"Metrics", "", func(ctx context.Context, p Principal) error { _, err := s.Metrics(ctx, p); return err }},
		{"Trends", "", func(ctx context.Context, p Principal) error { _, err := s.Trends(ctx, p, 7); return err }},
		{"Categories", "", func(ctx context.Context, p Principal) error { _, err := s.Categories(ctx, p); return err }},
		{"RecentActivity", "", func(ctx context.Context, p Principal) error { _, err := s.RecentActivity(ctx, p, 5); return err }},
		{"ClientPerformance", "", func(ctx context.Context, p Principal) error { _, err := s.ClientPerformance(ctx, p, ""); return err }},
		{"BusinessImpact", "", func(ctx context.Context, p Principal) error { _, err := s.BusinessImpact(ctx, p); return err }},
		{"CostInsights", "", func(ctx context.Context, p Principal) error {
			_, err := s.CostInsights(ctx, p, CostQuery{})
			return err
		}},
		{"UserActivity", "", func(ctx context.Context, p Principal) error {
			_, err := s.UserActivity(ctx, p, UserActivityQuery{})
			return err
		}},
		{"ExportUserActivity", "", func(ctx context.Context, p Principal) error {
			return s.ExportUserActivity(ctx, p, UserActivityQuery{}, io.Discard, FormatNDJSON)
		}},
		{"ActivitySummary", "", func(ctx context.Context, p Principal) error {
			_, err := s.ActivitySummary(ctx, p, "day", DateRange{})
			return err
		}},
		{"MetricsHistory", "", func(ctx context.Context, p Principal) error {
			_, err := s.MetricsHistory(ctx, p, "", DateRange{})
			return err
		}},
		{"RecordActivity", "", func(ctx context.Context, p Principal) error {
			_, err := s.RecordActivity(ctx, p, ActivityInput{ActivityType: "login"})
			return err
		}},
		{"SystemHealth", RoleManager, func(ctx context.Context, p Principal) error { _, err := s.SystemHealth(ctx, p); return err }},
		{"ActivityHistory", RoleManager, func(ctx context.Context, p Principal) error {
			_, err := s.ActivityHistory(ctx, p, UserActivityQuery{})
			return err
		}},
		{"EntityHistory", RoleManager, func(ctx context.Context, p Principal) error {
			_, err := s.EntityHistory(ctx, p, "report", report1, 0)
			return err
		}},
		{"IngestClient", RoleManager, func(ctx context.Context, p Principal) error {
			_, _, err := s.IngestClient(ctx, p, ClientInput{ID: client3, CompanyName: "Northwind"})
			return err
		}},
		{"IngestReport", RoleAnalyst, func(ctx context.Context, p Principal) error {
			_, _, err := s.IngestReport(ctx, p, ReportInput{ClientID: client3, ReportType: "cost"})
			return err
		}},
		{"ImportAdvisorCSV", RoleAnalyst, func(ctx context.Context, p Principal) error {
			_, err := s.ImportAdvisorCSV(ctx, p, CSVImport{ClientID: client3}, strings.NewReader(string(csvData)))
			return err
		}},
		{"Jobs", RoleAdmin, func(ctx context.Context, p Principal) error { _, err := s.Jobs(ctx, p); return err }},
		{"InvalidateCache", RoleAdmin, func(ctx context.Context, p Principal) error { _, err := s.InvalidateCache(ctx, p); return err }},
		{"EraseUserActivities", RoleAdmin, func(ctx context.Context, p Principal) error {
			_, err := s.EraseUserActivities(ctx, p, unknown)
			return err
		}},
		{"IngestActivities", RoleAdmin, func(ctx context.Context, p Principal) error {
			_, err := s.IngestActivities(ctx, p, IngestActivitiesInput{Activities: []ActivityRecord{{ActivityType: "login"}}})
			return err
		}},
	}
	odd := Principal{ID: "f6666666-6666-4666-8666-666666666666", Role: "auditor"}
	who := append([]Principal{{}, odd}, bob, alice, carol, dave, erin)
	for _, m := range methods {
		for _, p := range who {
			t.Run(m.name+"/"+p.Username+string(p.Role), func(t *testing.T) {
				err := m.call(t.Context(), p)
				var want error
				switch {
				case !p.Authenticated():
					want = ErrUnauthenticated
				case m.minRole != "" && !p.AtLeast(m.minRole):
					want = ErrForbidden
				}
				if !errors.Is(err, want) && !(want == nil && err == nil) {
					t.Errorf("err = %v, want %v", err, want)
				}
			})
		}
	}
	if !erin.IsAdmin() || !dave.IsAdmin() || carol.IsAdmin() || Role("auditor").Valid() || !RoleViewer.Valid() {
		t.Error("role helpers")
	}
}

func TestRecordedIPStorageModes(t *testing.T) {
	key := []byte("0123456789abcdef")
	cases := []struct {
		mode tracking.IPStorage
		want string
	}{
		{tracking.IPFull, "127.0.0.1"}, {tracking.IPTruncate, "127.0.0.0"}, {tracking.IPNone, ""},
		{tracking.IPHash, ""}, // 64 hex digits, checked below
	}
	for _, c := range cases {
		t.Run(string(c.mode), func(t *testing.T) {
			st := openSQLite(t)
			e := newEnv(t, st, func(cfg *Config) {
				cfg.Tracking = TrackingConfig{Middleware: tracking.MiddlewareConfig{IPStorage: c.mode, IPHashKey: key}}
			})
			r := e.postJSON(t, "activities/", "bob", `{"activity_type":"login"}`)
			if r.status != 202 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if err := e.svc.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			page, err := st.ActivityList(t.Context(), store.ActivityListParams{})
			if err != nil || page.Total != 1 {
				t.Fatalf("%v %+v", err, page)
			}
			got := page.Activities[0].IPAddress
			if c.mode == tracking.IPHash {
				if len(got) != 64 || got == "127.0.0.1" {
					t.Errorf("hashed ip %q", got)
				}
				return
			}
			if got != c.want {
				t.Errorf("ip %q, want %q", got, c.want)
			}
		})
	}
}
