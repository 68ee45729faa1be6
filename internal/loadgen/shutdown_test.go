//go:build !windows

package loadgen_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/advisoranalytics/advisor-analytics/internal/loadgen"
	"github.com/advisoranalytics/advisor-analytics/internal/testdb"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// storedLoad opens the database after the server has gone and returns
// the total number of activities and how many times each request of the
// load (numbered in its description) was stored.
func storedLoad(t *testing.T, database string, requests int) (total int64, times []int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var st store.Store
	var err error
	if strings.HasPrefix(database, "postgres://") {
		st, err = postgres.Open(ctx, database, postgres.Config{SkipMigrate: true})
	} else {
		st, err = sqlite.Open(ctx, database, sqlite.Config{SkipMigrate: true})
	}
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	page, err := st.ActivityList(ctx, store.ActivityListParams{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	times = make([]int, requests)
	err = st.ActivityIterate(ctx, store.ActivityFilter{ActivityType: "load_test"}, func(a *store.Activity) error {
		var i int
		if _, err := fmt.Sscanf(a.Description, "request %d", &i); err != nil || i < 0 || i >= requests {
			return fmt.Errorf("activity %s: unexpected description %q", a.ID, a.Description)
		}
		times[i]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return page.Total, times
}

// testSIGTERMUnderLoad posts activities to a server on database and
// terminates it once half of them were accepted: every activity answered
// 202 must be in the database afterwards, and no other.
func testSIGTERMUnderLoad(t *testing.T, database string) {
	const (
		requests    = 10_000
		concurrency = 32
		signalAt    = requests / 2
	)
	srv := startServer(t, database)

	var accepted atomic.Int64
	var acceptedReq [requests]atomic.Bool // by request number
	var signalled sync.Once
	var signalErr error
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	res, err := loadgen.Run(ctx, loadgen.Config{
		URL:    srv.url + "/api/v1/analytics/activities/",
		Method: http.MethodPost,
		Header: http.Header{"Authorization": {"Bearer " + loadToken}, "Content-Type": {"application/json"}},
		Body: func(i int) []byte {
			return fmt.Appendf(nil, `{"activity_type":"load_test","description":"request %d","metadata":{"i":%d}}`, i, i)
		},
		Concurrency: concurrency,
		Requests:    requests,
		ResultFunc: func(i int, status int, _ error) {
			if status != http.StatusAccepted {
				return
			}
			acceptedReq[i].Store(true)
			if accepted.Add(1) == signalAt {
				signalled.Do(func() { signalErr = srv.cmd.Process.Signal(syscall.SIGTERM) })
			}
		},
	})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	signalled.Do(func() { signalErr = errors.New("never sent: fewer than half the requests were accepted") })
	if signalErr != nil {
		t.Fatalf("SIGTERM: %v\n%s\n%s", signalErr, res.String(), srv.stderr)
	}
	t.Logf("load:\n%s", res.String())

	exit := time.NewTimer(exitTimeout)
	defer exit.Stop()
	select {
	case <-srv.exited:
	case <-exit.C:
		t.Fatalf("analyticsd still running %v after SIGTERM\n%s", exitTimeout, srv.stderr)
	}
	if srv.err != nil || srv.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("analyticsd exit: %v (status %d), want status 0\n%s", srv.err, srv.cmd.ProcessState.ExitCode(), srv.stderr)
	}

	got202 := res.Status(http.StatusAccepted)
	if got202 != accepted.Load() {
		t.Errorf("Result counts %d 202s, ResultFunc saw %d", got202, accepted.Load())
	}
	// The signal arrived under load: part of the requests were refused.
	if got202 < signalAt || got202 >= requests {
		t.Errorf("%d of %d requests accepted, want at least %d and not all", got202, requests, signalAt)
	}
	for code, n := range res.Statuses {
		if code != http.StatusAccepted && code != http.StatusServiceUnavailable {
			t.Errorf("%d responses with status %d; only 202 and 503 are expected", n, code)
		}
	}
	total, times := storedLoad(t, database, requests)
	if total != got202 {
		t.Errorf("database holds %d activities; %d requests were answered 202\n%s\n%s", total, got202, res.String(), srv.stderr)
	}
	var lost, unanswered, doubled []int
	for i, n := range times {
		switch {
		case n > 1:
			doubled = append(doubled, i)
		case n == 0 && acceptedReq[i].Load():
			lost = append(lost, i)
		case n == 1 && !acceptedReq[i].Load():
			unanswered = append(unanswered, i)
		}
	}
	if len(lost)+len(unanswered)+len(doubled) > 0 {
		t.Errorf("requests answered 202 but not stored: %d %v\nstored without a 202: %d %v\nstored twice: %d %v",
			len(lost), lost[:min(len(lost), 10)], len(unanswered), unanswered[:min(len(unanswered), 10)],
			len(doubled), doubled[:min(len(doubled), 10)])
	}
}

func TestSIGTERMUnderLoadLosesNothing(t *testing.T) {
	testSIGTERMUnderLoad(t, testdb.SQLitePath(t))
}

func TestSIGTERMUnderLoadLosesNothingPostgres(t *testing.T) {
	testSIGTERMUnderLoad(t, testdb.PostgresURL(t))
}
