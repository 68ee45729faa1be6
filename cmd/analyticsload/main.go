// Command analyticsload sends HTTP load to a server on this machine and
// prints what it achieved: responses by status, errors, requests per second
// and latency percentiles. It measures the reference server analyticsd:
//
//	analyticsload -url http://127.0.0.1:8080/api/v1/analytics/metrics/ -token "$TOKEN" -c 64 -d 10s
//	analyticsload -url http://127.0.0.1:8080/api/v1/analytics/activities/ -token "$TOKEN" \
//	    -method POST -body '{"activity_type":"view_dashboard"}' -c 32 -n 10000
//
// With -rate the requests are paced (for example -rate 20000 to check the
// latencies at a given throughput) and each latency is counted from when its
// request was due, so a server falling behind shows in the percentiles.
//
// Only loopback targets (127.0.0.0/8, ::1, localhost) are accepted. The run
// stops after -n requests or -d, whichever comes first; Ctrl-C stops it
// early and still prints the report.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/advisoranalytics/advisor-analytics/internal/cli"
	"github.com/advisoranalytics/advisor-analytics/internal/loadgen"
)

func main() {
	cli.Main(func(ctx context.Context) int { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

// headerList is a repeatable -H flag.
type headerList []string

func (h *headerList) String() string { return strings.Join(*h, ", ") }

func (h *headerList) Set(v string) error {
	name, _, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return errors.New(`want "Name: value"`)
	}
	*h = append(*h, v)
	return nil
}

// run is the whole program: it parses args (without the program name),
// runs the load and writes the report to stdout. It returns the exit
// status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("analyticsload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		target      = fs.String("url", "", "target URL on this machine (127.0.0.0/8, ::1 or localhost); required")
		token       = fs.String("token", "", `bearer token sent as "Authorization: Bearer <token>"`)
		method      = fs.String("method", http.MethodGet, "request method")
		body        = fs.String("body", "", "request body, or @file to read it from a file")
		contentType = fs.String("content-type", "application/json", "Content-Type of a request with -body")
		conc        = fs.Int("c", loadgen.ConcurrencyDefault, "concurrent connections (workers)")
		requests    = fs.Int("n", 0, "stop after this many requests (0: no count limit)")
		duration    = fs.Duration("d", 0, fmt.Sprintf("stop after this long (0: no time limit; %v when -n is 0 too)", loadgen.DurationDefault))
		rate        = fs.Float64("rate", 0, "requests started per second over all workers, latency counted from when each was due (0: as fast as possible)")
		cpuProfile  = fs.String("cpuprofile", "", "write the load generator's own CPU profile to this file")
		headers     headerList
	)
	fs.Var(&headers, "H", `extra request header "Name: value" (repeatable)`)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: analyticsload -url URL [flags]\n\nSend HTTP load to a server on this machine and report the achieved rate and latencies.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cli.ExitOK
		}
		return cli.ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "analyticsload: unexpected arguments %q\n", fs.Args())
		return cli.ExitUsage
	}
	if *target == "" {
		fmt.Fprintln(stderr, "analyticsload: -url is required")
		fs.Usage()
		return cli.ExitUsage
	}

	cfg := loadgen.Config{URL: *target, Method: strings.ToUpper(*method), Header: http.Header{},
		Concurrency: *conc, Requests: *requests, Duration: *duration, Rate: *rate}
	if *token != "" {
		cfg.Header.Set("Authorization", "Bearer "+*token)
	}
	if *body != "" {
		b := []byte(*body)
		if name, ok := strings.CutPrefix(*body, "@"); ok {
			var err error
			if b, err = os.ReadFile(name); err != nil {
				fmt.Fprintf(stderr, "analyticsload: -body: %v\n", err)
				return cli.ExitUsage
			}
		}
		cfg.Body = func(int) []byte { return b }
		cfg.Header.Set("Content-Type", *contentType)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		cfg.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "analyticsload: -cpuprofile: %v\n", err)
			return cli.ExitUsage
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "analyticsload: -cpuprofile: %v\n", err)
			return cli.ExitFailure
		}
		defer pprof.StopCPUProfile()
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil && res.Requests == 0 && res.Elapsed == 0 {
		fmt.Fprintf(stderr, "analyticsload: %v\n", err)
		if errors.Is(err, loadgen.ErrInvalidConfig) {
			return cli.ExitUsage
		}
		return cli.ExitFailure
	}
	pace := ""
	if cfg.Rate > 0 {
		pace = fmt.Sprintf(" at %g req/s", cfg.Rate)
	}
	fmt.Fprintf(stdout, "%s %s, %d workers%s, until %s\n", cfg.Method, *target, effectiveWorkers(cfg), pace, describeLimits(cfg))
	fmt.Fprint(stdout, res.String())
	if err != nil {
		fmt.Fprintf(stderr, "analyticsload: %v\n", err)
		return cli.ExitFailure
	}
	return cli.ExitOK
}

func describeLimits(cfg loadgen.Config) string {
	var parts []string
	if cfg.Requests > 0 {
		parts = append(parts, fmt.Sprintf("%d requests", cfg.Requests))
	}
	if cfg.Duration > 0 {
		parts = append(parts, cfg.Duration.String())
	}
	if len(parts) == 0 {
		return loadgen.DurationDefault.String()
	}
	return strings.Join(parts, " or ")
}

func effectiveWorkers(cfg loadgen.Config) int {
	c := cfg.Concurrency
	if c == 0 {
		c = loadgen.ConcurrencyDefault
	}
	if cfg.Requests > 0 && cfg.Requests < c {
		c = cfg.Requests
	}
	return c
}
