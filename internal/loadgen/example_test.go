package loadgen_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/advisoranalytics/advisor-analytics/internal/loadgen"
)

func ExampleRun() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	res, err := loadgen.Run(context.Background(), loadgen.Config{
		URL:         srv.URL + "/api/v1/analytics/activities/",
		Method:      http.MethodPost,
		Header:      http.Header{"Authorization": {"Bearer <token>"}, "Content-Type": {"application/json"}},
		Body:        func(i int) []byte { return fmt.Appendf(nil, `{"activity_type":"login","metadata":{"i":%d}}`, i) },
		Concurrency: 8,
		Requests:    500,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Requests, "requests,", res.Status(http.StatusAccepted), "accepted,", res.Errors, "errors")
	// The report also holds the rate and the latency percentiles:
	// fmt.Print(res.String())

	_, err = loadgen.Run(context.Background(), loadgen.Config{URL: "http://192.0.2.10/", Requests: 1})
	fmt.Println(err)
	// Output:
	// 500 requests, 500 accepted, 0 errors
	// loadgen: invalid config: URL: host "192.0.2.10": target is not a loopback address; load is only sent to 127.0.0.0/8, ::1 or localhost
}
