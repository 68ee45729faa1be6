package analytics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

func TestMemoryRateLimiter(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryRateLimiter().(*memoryRateLimiter)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	l := Limit{Requests: 4, Per: time.Hour} // one request back every 15 minutes
	if res, _ := m.Peek(ctx, "k", l); !res.Allowed || res.Remaining != 4 {
		t.Fatalf("peek of a new key: %+v", res)
	}
	for i := range 4 {
		res, _ := m.Take(ctx, "k", l)
		if !res.Allowed || res.Remaining != 3-i || res.Reset != time.Duration(i+1)*15*time.Minute {
			t.Fatalf("take %d: %+v", i+1, res)
		}
	}
	res, _ := m.Take(ctx, "k", l)
	if res.Allowed || res.Remaining != 0 || res.RetryAfter != 15*time.Minute {
		t.Fatalf("take over the budget: %+v", res)
	}
	if res, _ := m.Peek(ctx, "k", l); res.Allowed {
		t.Fatalf("peek over the budget: %+v", res)
	}
	if res, _ := m.Take(ctx, "other", l); !res.Allowed || res.Remaining != 3 {
		t.Fatalf("another key: %+v", res)
	}
	now = now.Add(15 * time.Minute)
	if res, _ := m.Take(ctx, "k", l); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("after 15 minutes: %+v", res)
	}
	// Full buckets are forgotten by the sweep; the others are kept.
	now = now.Add(61 * time.Minute)
	m.Take(ctx, "busy", l)
	if _, ok := m.buckets["k"]; ok {
		t.Error("a full bucket survived the sweep")
	}
	if _, ok := m.buckets["busy"]; !ok {
		t.Error("a bucket in use was swept")
	}
	// The key count is bounded.
	m.maxKeys = 10
	for i := range 50 {
		m.Take(ctx, fmt.Sprint("ip", i), l)
	}
	if len(m.buckets) > 10 {
		t.Errorf("%d buckets held, max 10", len(m.buckets))
	}
}

// countingLimiter is a host's own RateLimiter: it refuses every user
// request after the first n and records the keys it saw.
type countingLimiter struct {
	n    int
	keys []string
}

func (c *countingLimiter) Take(_ context.Context, key string, l Limit) (RateResult, error) {
	c.keys = append(c.keys, key)
	c.n--
	return RateResult{Allowed: c.n >= 0, Remaining: max(0, c.n), Reset: time.Minute, RetryAfter: 30 * time.Second}, nil
}

func (c *countingLimiter) Peek(_ context.Context, key string, l Limit) (RateResult, error) {
	return RateResult{Allowed: true}, nil
}

// A host plugs its own RateLimiter in through Config.RateLimit.Limiter.
func TestRateLimiterSeam(t *testing.T) {
	st, err := sqlite.Open(t.Context(), testdb.SQLitePath(t), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lim := &countingLimiter{n: 2}
	svc, err := New(st, Config{
		IdentifyFunc: func(*http.Request) (Principal, error) { return Principal{ID: "u1", Role: RoleViewer}, nil },
		RateLimit:    RateLimitConfig{Requests: 10, Limiter: lim},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.HandlerWithPrefix("/a"))
	defer srv.Close()
	var codes []int
	for range 3 {
		resp, err := http.Get(srv.URL + "/a/categories/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		if resp.Header.Get("RateLimit-Limit") != "10" {
			t.Errorf("RateLimit-Limit %q", resp.Header.Get("RateLimit-Limit"))
		}
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "30" {
			t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
	}
	if fmt.Sprint(codes) != "[200 200 429]" || fmt.Sprint(lim.keys) != "[user:u1 user:u1 user:u1]" {
		t.Errorf("statuses %v, keys %v", codes, lim.keys)
	}
}
