package tracking

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
)

// responseWriter records the status and size of a response. It forwards
// everything else to the wrapped ResponseWriter: Flush and Hijack go
// through http.ResponseController, and Unwrap lets a ResponseController
// reach the original writer's optional methods (deadlines, full duplex).
type responseWriter struct {
	w           http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
	hijacked    bool
}

var writerPool = sync.Pool{New: func() any { return new(responseWriter) }}

func getWriter(w http.ResponseWriter) *responseWriter {
	rw := writerPool.Get().(*responseWriter)
	*rw = responseWriter{w: w}
	return rw
}

// putWriter returns rw to the pool, unless the connection was hijacked (its
// new owner may still hold the writer).
func putWriter(rw *responseWriter) {
	if rw.hijacked {
		return
	}
	rw.w = nil
	writerPool.Put(rw)
}

// statusCode is the status sent, as net/http reports it: 200 when the
// handler wrote nothing, 101 after a hijack.
func (rw *responseWriter) statusCode() int {
	switch {
	case rw.wroteHeader:
		return rw.status
	case rw.hijacked:
		return http.StatusSwitchingProtocols
	}
	return http.StatusOK
}

// Header implements http.ResponseWriter.
func (rw *responseWriter) Header() http.Header { return rw.w.Header() }

// WriteHeader implements http.ResponseWriter. Informational (1xx) headers
// other than 101 are passed on without being taken as the final status.
func (rw *responseWriter) WriteHeader(code int) {
	if !rw.wroteHeader && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		rw.status, rw.wroteHeader = code, true
	}
	rw.w.WriteHeader(code)
}

// bodyStarted records the implicit 200 that net/http sends when the body
// (or a flush) comes before any WriteHeader.
func (rw *responseWriter) bodyStarted() {
	if !rw.wroteHeader {
		rw.status, rw.wroteHeader = http.StatusOK, true
	}
}

// Write implements http.ResponseWriter.
func (rw *responseWriter) Write(b []byte) (int, error) {
	rw.bodyStarted()
	n, err := rw.w.Write(b)
	rw.bytes += int64(n)
	return n, err
}

// WriteString implements io.StringWriter, avoiding a copy when the wrapped
// writer supports it.
func (rw *responseWriter) WriteString(s string) (int, error) {
	rw.bodyStarted()
	var n int
	var err error
	if sw, ok := rw.w.(io.StringWriter); ok {
		n, err = sw.WriteString(s)
	} else {
		n, err = rw.w.Write([]byte(s))
	}
	rw.bytes += int64(n)
	return n, err
}

// ReadFrom implements io.ReaderFrom so the wrapped writer's sendfile path
// stays available.
func (rw *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	rw.bodyStarted()
	var n int64
	var err error
	if rf, ok := rw.w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{rw.w}, src)
	}
	rw.bytes += n
	return n, err
}

// writerOnly hides every method but Write, so io.Copy cannot loop back
// into ReadFrom.
type writerOnly struct{ io.Writer }

// Flush implements http.Flusher. It does nothing when the wrapped writer
// cannot flush.
func (rw *responseWriter) Flush() {
	_ = rw.FlushError()
}

// FlushError flushes like http.Flusher and reports an error when the
// wrapped writer cannot flush (http.ResponseController uses it).
func (rw *responseWriter) FlushError() error {
	err := http.NewResponseController(rw.w).Flush()
	if err == nil {
		rw.bodyStarted() // flushing sent the header
	}
	return err
}

// Hijack implements http.Hijacker; it returns an error wrapping
// http.ErrNotSupported when the wrapped writer cannot hijack.
func (rw *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(rw.w).Hijack()
	if err == nil {
		rw.hijacked = true
	}
	return c, brw, err
}

// Unwrap returns the wrapped ResponseWriter (for http.ResponseController).
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.w }
