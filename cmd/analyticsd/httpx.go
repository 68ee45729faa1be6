package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/advisoranalytics/advisor-analytics/tracking"
)

// Server limits.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 2 * time.Minute // CSV uploads and bulk ingestion
	writeTimeout      = 10 * time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// maxBodyBytes is the hard cap on any request body; the analytics
	// handlers apply their own, smaller limits per route.
	maxBodyBytes = 128 << 20
)

const (
	requestIDHeader = "X-Request-ID"
	// clientRequestIDHeader echoes the caller's own X-Request-ID.
	clientRequestIDHeader = "X-Client-Request-ID"
)

type requestIDKey struct{}

// requestIDFrom returns the request id set by withRequestLog.
func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// validRequestID accepts a caller's X-Request-ID when it is short printable
// ASCII, so it cannot inject anything into logs.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter records the status and size of a response. It keeps
// http.ResponseController working through Unwrap.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withRequestLog gives every request a new id (in X-Request-ID of the
// request seen by the handlers and of the response; a sane X-Request-ID of
// the caller is logged as client_request_id and echoed in
// X-Client-Request-ID), caps its body, and
// logs it when it ends. With stats, it also counts every request under the
// API prefix in the HTTP figures of system-health (requests, 5xx responses,
// latency) — for when the tracking middleware, which counts them itself,
// does not wrap the API.
func withRequestLog(log *slog.Logger, stats *tracking.HTTPStats, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// The id is always the server's: a caller cannot give two requests
		// the same one. A sane id of the caller is kept beside it.
		id := newRequestID()
		clientID := r.Header.Get(requestIDHeader)
		if !validRequestID(clientID) {
			clientID = ""
		}
		r.Header.Set(requestIDHeader, id)
		w.Header().Set(requestIDHeader, id)
		if clientID != "" {
			w.Header().Set(clientRequestIDHeader, clientID)
		}
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		end := time.Now()
		if stats != nil && strings.HasPrefix(r.URL.Path, apiPrefix[:len(apiPrefix)-1]) {
			stats.Observe(end, status, end.Sub(start))
		}
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case r.URL.Path == "/healthz" || r.URL.Path == "/readyz":
			level = slog.LevelDebug
		}
		attrs := []slog.Attr{
			slog.String("request_id", id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", end.Sub(start)),
			slog.String("remote", r.RemoteAddr),
		}
		if clientID != "" {
			attrs = append(attrs, slog.String("client_request_id", clientID))
		}
		log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}
