// Package loadgen is a small HTTP load generator for measuring the reference
// server on the machine it runs on.
//
// Run sends requests to one URL from a fixed number of workers over
// keep-alive connections until a request count or a duration is reached,
// and reports the responses by status, the errors by kind, the achieved
// rate and latency percentiles. Its memory does not grow with the number of
// requests: latencies go into a fixed-size histogram.
//
// Load is only ever sent to this machine: Run refuses a URL whose host is
// not a loopback address (127.0.0.0/8, ::1 or localhost), and its default
// client refuses to dial any other address.
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults and limits of Config.
const (
	// ConcurrencyDefault is the number of workers when Config.Concurrency
	// is zero.
	ConcurrencyDefault = 16
	// MaxConcurrency is the largest Config.Concurrency accepted.
	MaxConcurrency = 4096
	// DurationDefault is how long Run sends requests when neither
	// Config.Requests nor Config.Duration is set.
	DurationDefault = 10 * time.Second
	// TimeoutDefault bounds each request of the default client.
	TimeoutDefault = 30 * time.Second
	// maxErrorSamples bounds Result.ErrorSamples.
	maxErrorSamples = 5
)

// Errors returned (wrapped) by Run before it sends anything.
var (
	// ErrInvalidConfig marks a Config that Run refuses.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrNotLoopback marks a target that is not on this machine; the
	// error wraps ErrInvalidConfig too.
	ErrNotLoopback = errors.New("target is not a loopback address")
)

// Config describes a load run.
type Config struct {
	// URL is the target, an http:// or https:// URL whose host is a
	// loopback address (127.0.0.0/8, ::1) or localhost. Required.
	URL string
	// Method is the request method. Defaults to GET.
	Method string
	// Header is sent with every request (for example Authorization).
	// Defaults to no extra header.
	Header http.Header
	// Body returns the body of the i-th request (counting from 0). It is
	// called from several goroutines at once. Defaults to no body.
	Body func(i int) []byte
	// Concurrency is the number of workers, each with at most one request
	// in flight. Defaults to ConcurrencyDefault; at most MaxConcurrency.
	Concurrency int
	// Requests is the maximum number of requests sent. Zero means no
	// count limit.
	Requests int
	// Duration is the maximum time during which requests are started;
	// requests in flight when it ends are completed (with Rate, requests
	// due but not yet started by then are not sent). Zero means no time
	// limit. When both Requests and Duration are zero, Duration defaults
	// to DurationDefault.
	Duration time.Duration
	// Rate caps the requests started per second over all workers: request
	// i is due i/Rate seconds after the start and is not sent earlier.
	// Its latency is then measured from when it was due, so a server that
	// falls behind the rate is charged for the wait (the measurement does
	// not suffer from coordinated omission). Zero means as fast as the
	// workers go, with latencies measured from each request's send.
	Rate float64
	// Client sends the requests. Defaults to a client whose keep-alive
	// Transport keeps Concurrency idle connections, uses no proxy, dials
	// only loopback addresses, does not follow redirects and gives up on a
	// request after TimeoutDefault.
	Client *http.Client
	// ResultFunc, when set, is called after every completed request with
	// its index, its status (0 on error) and its error. It is called from
	// several goroutines at once and should return quickly.
	ResultFunc func(i int, status int, err error)
}

// Latency summarises the latencies of the requests that got a response.
// Percentiles come from a histogram whose buckets are at most 1/64 wide,
// and are reported as the upper bound of their bucket (never above Max).
type Latency struct {
	Mean time.Duration
	P50  time.Duration
	P90  time.Duration
	P99  time.Duration
	Max  time.Duration
}

// Result is what a load run achieved.
type Result struct {
	// Requests is the number of requests completed, with a response or an
	// error. Requests interrupted because ctx was cancelled are not
	// counted.
	Requests int64
	// Statuses counts the responses by status code.
	Statuses map[int]int64
	// Errors is the number of requests that got no response.
	Errors int64
	// ErrorKinds counts the errors by kind: "connection refused",
	// "connection reset", "connection closed", "timeout" or "other".
	ErrorKinds map[string]int64
	// ErrorSamples holds the first few distinct error messages.
	ErrorSamples []string
	// Bytes is the total size of the response bodies read.
	Bytes int64
	// Elapsed is the time from the start of the run to the end of its
	// last request.
	Elapsed time.Duration
	// Rate is Requests per second of Elapsed.
	Rate float64
	// Latency is measured over the requests that got a response.
	Latency Latency
}

// Status returns the number of responses with status code.
func (r *Result) Status(code int) int64 { return r.Statuses[code] }

// String is a short report of the run, several lines long.
func (r *Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "requests  %d in %v, %.0f req/s\n", r.Requests, r.Elapsed.Round(time.Millisecond), r.Rate)
	codes := make([]int, 0, len(r.Statuses))
	for c := range r.Statuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	b.WriteString("status   ")
	if len(codes) == 0 {
		b.WriteString(" none")
	}
	for _, c := range codes {
		fmt.Fprintf(&b, " %d×%d", c, r.Statuses[c])
	}
	b.WriteString("\n")
	if r.Errors > 0 {
		kinds := make([]string, 0, len(r.ErrorKinds))
		for k := range r.ErrorKinds {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		fmt.Fprintf(&b, "errors    %d:", r.Errors)
		for _, k := range kinds {
			fmt.Fprintf(&b, " %s×%d", k, r.ErrorKinds[k])
		}
		b.WriteString("\n")
		for _, s := range r.ErrorSamples {
			fmt.Fprintf(&b, "          %s\n", s)
		}
	}
	l := r.Latency
	fmt.Fprintf(&b, "latency   mean %v  p50 %v  p90 %v  p99 %v  max %v\n",
		round(l.Mean), round(l.P50), round(l.P90), round(l.P99), round(l.Max))
	fmt.Fprintf(&b, "received  %d bytes\n", r.Bytes)
	return b.String()
}

// round shortens a latency for display (three significant digits or so).
func round(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 100*time.Microsecond:
		return d.Round(time.Microsecond)
	default:
		return d
	}
}

// validate checks c and returns it with its defaults applied.
func (c Config) validate() (Config, *url.URL, error) {
	if c.URL == "" {
		return c, nil, fmt.Errorf("%w: URL is required", ErrInvalidConfig)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return c, nil, fmt.Errorf("%w: URL: %w", ErrInvalidConfig, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return c, nil, fmt.Errorf("%w: URL scheme %q: want http or https", ErrInvalidConfig, u.Scheme)
	}
	if err := checkLoopbackHost(u.Hostname()); err != nil {
		return c, nil, fmt.Errorf("%w: URL: %w", ErrInvalidConfig, err)
	}
	if c.Method == "" {
		c.Method = http.MethodGet
	}
	switch {
	case c.Concurrency < 0 || c.Concurrency > MaxConcurrency:
		return c, nil, fmt.Errorf("%w: Concurrency must be between 1 and %d, got %d", ErrInvalidConfig, MaxConcurrency, c.Concurrency)
	case c.Concurrency == 0:
		c.Concurrency = ConcurrencyDefault
	}
	if c.Requests < 0 {
		return c, nil, fmt.Errorf("%w: Requests must not be negative, got %d", ErrInvalidConfig, c.Requests)
	}
	if c.Duration < 0 {
		return c, nil, fmt.Errorf("%w: Duration must not be negative, got %v", ErrInvalidConfig, c.Duration)
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		return c, nil, fmt.Errorf("%w: Rate must be a non-negative number of requests per second, got %v", ErrInvalidConfig, c.Rate)
	}
	if c.Requests == 0 && c.Duration == 0 {
		c.Duration = DurationDefault
	}
	if c.Requests > 0 && c.Concurrency > c.Requests {
		c.Concurrency = c.Requests
	}
	return c, u, nil
}

// checkLoopbackHost accepts localhost and loopback IP addresses.
func checkLoopbackHost(host string) error {
	if host == "" {
		return fmt.Errorf("no host: %w", ErrNotLoopback)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return fmt.Errorf("host %q: %w; load is only sent to 127.0.0.0/8, ::1 or localhost", host, ErrNotLoopback)
	}
	return nil
}

// loopbackOnly is a net.Dialer Control function refusing any address that
// is not a loopback address, so a name that resolves elsewhere or a proxy
// cannot carry the load off the machine.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("loadgen: dial %s %s: %w", network, address, err)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("loadgen: dial %s %s: %w", network, address, ErrNotLoopback)
	}
	return nil
}

func defaultClient(concurrency int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: loopbackOnly}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         d.DialContext,
			MaxIdleConns:        concurrency,
			MaxIdleConnsPerHost: concurrency,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 5 * time.Second,
		},
		Timeout:       TimeoutDefault,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// worker holds one worker's tallies; they are merged when the run ends.
type worker struct {
	hist     *histogram // shared by every worker
	statuses map[int]int64
	errors   map[string]int64
	samples  []string
	requests int64
	bytes    int64
}

// Run sends the load cfg describes and reports what it achieved. It stops
// starting requests when cfg.Requests have been started or cfg.Duration
// has passed, whichever comes first, and returns when the requests in
// flight have completed. When ctx is cancelled the requests in flight are
// abandoned and Run returns what was completed with ctx's error.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, u, err := cfg.validate()
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: %w", err)
	}
	client := cfg.Client
	if client == nil {
		client = defaultClient(cfg.Concurrency)
		defer client.CloseIdleConnections()
	}
	target := u.String()
	header := cfg.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	// Check the method and the URL once, so workers cannot fail on them.
	if _, err := http.NewRequestWithContext(ctx, cfg.Method, target, nil); err != nil {
		return Result{}, fmt.Errorf("loadgen: %w: %w", ErrInvalidConfig, err)
	}

	var next atomic.Int64
	start := time.Now()
	var deadline time.Time
	if cfg.Duration > 0 {
		deadline = start.Add(cfg.Duration)
	}
	workers := make([]*worker, cfg.Concurrency)
	hist := new(histogram)
	var wg sync.WaitGroup
	for w := range workers {
		wk := &worker{hist: hist, statuses: map[int]int64{}, errors: map[string]int64{}}
		workers[w] = wk
		wg.Go(func() {
			var pause *time.Timer
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if cfg.Requests > 0 && i >= int64(cfg.Requests) {
					return
				}
				var due time.Time
				if cfg.Rate > 0 {
					due = start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
					if !deadline.IsZero() && (!due.Before(deadline) || !time.Now().Before(deadline)) {
						return
					}
					if wait := time.Until(due); wait > 0 {
						if pause == nil {
							pause = time.NewTimer(wait)
						} else {
							pause.Reset(wait)
						}
						select {
						case <-pause.C:
						case <-ctx.Done():
							return
						}
					}
				} else if !deadline.IsZero() && !time.Now().Before(deadline) {
					return
				}
				wk.do(ctx, client, &cfg, target, header, int(i), due)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := Result{Statuses: map[int]int64{}, ErrorKinds: map[string]int64{}, Elapsed: elapsed}
	for _, wk := range workers {
		res.Requests += wk.requests
		res.Bytes += wk.bytes
		for c, n := range wk.statuses {
			res.Statuses[c] += n
		}
		for k, n := range wk.errors {
			res.ErrorKinds[k] += n
			res.Errors += n
		}
		for _, s := range wk.samples {
			if len(res.ErrorSamples) < maxErrorSamples && !slices.Contains(res.ErrorSamples, s) {
				res.ErrorSamples = append(res.ErrorSamples, s)
			}
		}
	}
	if elapsed > 0 {
		res.Rate = float64(res.Requests) / elapsed.Seconds()
	}
	res.Latency = Latency{Mean: hist.mean(), P50: hist.quantile(0.50), P90: hist.quantile(0.90),
		P99: hist.quantile(0.99), Max: hist.maximum()}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("loadgen: run interrupted: %w", err)
	}
	return res, nil
}

// do sends request i and tallies its outcome.
// Its latency is measured from due when set, else from its send.
func (wk *worker) do(ctx context.Context, client *http.Client, cfg *Config, target string, header http.Header, i int, due time.Time) {
	var body io.Reader
	if cfg.Body != nil {
		if b := cfg.Body(i); b != nil {
			body = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequestWithContext(ctx, cfg.Method, target, body)
	if err != nil { // checked before the run started
		wk.fail(cfg, i, err)
		return
	}
	if client.Jar != nil {
		header = header.Clone() // the client adds cookies to it
	}
	req.Header = header
	t0 := time.Now()
	resp, err := client.Do(req)
	if err == nil {
		var n int64
		n, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		wk.bytes += n
	}
	if !due.IsZero() {
		t0 = due
	}
	d := time.Since(t0)
	if err != nil {
		if ctx.Err() != nil {
			return // abandoned, not counted
		}
		wk.fail(cfg, i, err)
		return
	}
	wk.requests++
	wk.statuses[resp.StatusCode]++
	wk.hist.record(d)
	if cfg.ResultFunc != nil {
		cfg.ResultFunc(i, resp.StatusCode, nil)
	}
}

func (wk *worker) fail(cfg *Config, i int, err error) {
	wk.requests++
	wk.errors[errorKind(err)]++
	if msg := err.Error(); len(wk.samples) < maxErrorSamples && !slices.Contains(wk.samples, msg) {
		wk.samples = append(wk.samples, msg)
	}
	if cfg.ResultFunc != nil {
		cfg.ResultFunc(i, 0, err)
	}
}

// errorKind classifies a request error for Result.ErrorKinds.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		strings.Contains(err.Error(), "server closed idle connection"):
		return "connection closed"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	default:
		return "other"
	}
}
