// Package reqbody holds what the HTTP handlers do with request bodies
// they answer without reading.
package reqbody

import (
	"net/http"
	"time"
)

// Discard makes sure the server will not wait for the rest of the
// body of a request answered without reading it (an early 4xx): when r
// has a body, the response asks to close the connection and the
// connection's read deadline is set to now, so that net/http does not
// drain up to 256 KiB that a slow client may trickle for minutes. Call it
// before writing the response. The analytics Handler calls it for every error answer.
func Discard(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 {
		return
	}
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}
