package analytics

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// Error is an error the API reports to its caller: an HTTP status and the
// JSON error body {"error", "message", "field"?}. Service methods return
// it (or wrap it) for everything that is the caller's fault.
type Error struct {
	Status  int    // HTTP status code
	Detail  string // the "error" key: a sentence saying what is wrong
	Summary string // the "message" key: a short summary, like "Not found"
	Field   string // the parameter or body field at fault, if one
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("analytics: %s (%s)", e.Detail, e.Field)
	}
	return "analytics: " + e.Detail
}

// Sentinel errors returned by Service methods (test with errors.Is).
var (
	// ErrUnauthenticated: no principal (HTTP 401).
	ErrUnauthenticated = &Error{Status: http.StatusUnauthorized, Detail: "Authentication credentials were not provided.", Summary: "Unauthorized"}
	// ErrForbidden: the principal's role does not allow the call (HTTP 403).
	ErrForbidden = &Error{Status: http.StatusForbidden, Detail: "You do not have permission to perform this action.", Summary: "Forbidden"}
	// ErrBodyTooLarge: a request body over the configured limit (HTTP 413).
	ErrBodyTooLarge = &Error{Status: http.StatusRequestEntityTooLarge, Detail: "Request body is too large.", Summary: "Request body too large"}
	// ErrQueueFull: the activity Recorder refused an event because its
	// queue is full or it is stopped (HTTP 503).
	ErrQueueFull = &Error{Status: http.StatusServiceUnavailable, Detail: "Activity queue is full; retry later.", Summary: "Service unavailable"}
	// ErrNotStored: an activity posted to the activities route could be
	// made durable neither in the spool nor in the store (HTTP 503).
	ErrNotStored = &Error{Status: http.StatusServiceUnavailable, Detail: "Activity could not be stored; retry later.", Summary: "Service unavailable"}
	// ErrTooManyExports: the caller, or the server as a whole, already runs
	// as many activity exports as it may (HTTP 429).
	ErrTooManyExports = &Error{Status: http.StatusTooManyRequests,
		Detail: "Too many exports are running; retry when one has finished.", Summary: "Too many requests"}
	// ErrTooManyImports: as many Advisor CSV imports as allowed are running
	// (HTTP 429).
	ErrTooManyImports = &Error{Status: http.StatusTooManyRequests,
		Detail: "Too many imports are running; retry when one has finished.", Summary: "Too many requests"}
)

// badParam returns a 400 *Error for one parameter or body field.
func badParam(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Detail: fmt.Sprintf(format, args...), Summary: "Invalid parameter", Field: field}
}

// badBody returns a 400 *Error for a request body.
func badBody(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Detail: fmt.Sprintf(format, args...), Summary: "Invalid request body", Field: field}
}

func notFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Detail: what + " not found", Summary: "Not found"}
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// StatusOf maps an error returned by a Service method to its HTTP status and
// body. It is the one place where errors become statuses: *Error values
// carry theirs; a store *ValidationError is 400 with its field;
// store.ErrNotFound 404; store.ErrConflict (a write that collides with
// stored data, such as an ingested activity already stored with the same
// id and time) 409; store.ErrUnavailable and deadline expiry 503; a
// cancelled request 499 (never sent: the client is gone); anything else is
// 500 with the message "Failed to <action>" and nothing of the error text.
func StatusOf(err error, action string) (int, ErrorBody) {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Status, ErrorBody{Error: ae.Detail, Message: ae.Summary, Field: ae.Field}
	}
	if ve, ok := errors.AsType[*store.ValidationError](err); ok {
		return http.StatusBadRequest, ErrorBody{Error: ve.Error(), Message: "Invalid request", Field: ve.Field}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, ErrorBody{Error: "not found", Message: "Not found"}
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, ErrorBody{Error: "the write collides with data already stored (for example an activity " +
			"with the same id and created_at); nothing was written", Message: "Conflict"}
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, ErrorBody{Error: "The analytics store is unavailable; retry later.", Message: "Service unavailable"}
	case errors.Is(err, context.Canceled):
		return 499, ErrorBody{Error: "request cancelled", Message: "Client closed request"}
	}
	return http.StatusInternalServerError, ErrorBody{Error: "internal error", Message: "Failed to " + action}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// found interprets the error of a store lookup of what ("client",
// "report 3f2a…"): nil means the record exists, store.ErrNotFound that it
// does not; any other error is returned wrapped.
func found(err error, what string) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case isNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("get %s: %w", what, err)
}
