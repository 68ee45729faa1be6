// Package exampleapp runs the example applications: it opens their SQLite
// database, builds the application, starts the analytics Service and serves
// until SIGINT or SIGTERM, then shuts down in order (the HTTP server first,
// then the Service, which writes every activity still queued, then the
// store).
package exampleapp

import (
	"context"
	"errors"
	"flag"
	"log"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

// NewApp builds an example's handler and its Service over st.
type NewApp func(st store.Store) (http.Handler, *analytics.Service, error)

// Main parses the -addr and -database flags (defaulting to addr and db),
// serves the application newApp builds and exits on a fatal error. banner
// is logged once listening, with the address in place of its %s.
func Main(addr, db, banner string, newApp NewApp) {
	a := flag.String("addr", addr, "listen address")
	d := flag.String("database", db, "SQLite database file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := Serve(ctx, *a, *d, banner, newApp); err != nil {
		log.Fatal(err)
	}
}

// Serve opens the SQLite database file db, serves the application newApp
// builds on addr until ctx ends, then shuts it down in order.
func Serve(ctx context.Context, addr, db, banner string, newApp NewApp) error {
	st, err := sqlite.Open(ctx, db, sqlite.Config{})
	if err != nil {
		return err
	}
	defer st.Close()
	app, svc, err := newApp(st)
	if err != nil {
		return err
	}
	if err := svc.Start(ctx); err != nil {
		return err
	}
	srv := &http.Server{Addr: addr, Handler: app, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf(banner, addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Closing the Service writes every activity still queued.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return svc.Close(cctx)
}
