package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/advisoranalytics/advisor-analytics/analytics/metrics"
)

// The middleware labels requests with the mux pattern that matched, never
// with the raw path.
func ExampleHTTP_Middleware() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /clients/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	m := metrics.NewHTTP(metrics.HTTPConfig{})
	h := m.Middleware(mux)
	for _, path := range []string{"/clients/1", "/clients/2", "/nowhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	out, err := testutil.CollectAndFormat(m, expfmt.TypeTextPlain, "analytics_http_requests_total")
	if err != nil {
		panic(err)
	}
	fmt.Print(string(out))
	// Output:
	// # HELP analytics_http_requests_total HTTP requests by route template and status code.
	// # TYPE analytics_http_requests_total counter
	// analytics_http_requests_total{code="204",route="GET /clients/{id}"} 2
	// analytics_http_requests_total{code="404",route="unmatched"} 1
}
