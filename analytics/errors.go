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
	Code    string // the "error" key: what is wrong
	Message string // the "message" key: a short summary
	Field   string // the parameter or body field at fault, if one
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("analytics: %s (%s)", e.Code, e.Field)
	}
	return "analytics: " + e.Code
}

// Sentinel errors returned by Service methods (test with errors.Is).
var (
	// ErrUnauthenticated: no principal (HTTP 401).
	ErrUnauthenticated = &Error{Status: http.StatusUnauthorized, Code: "Authentication credentials were not provided.", Message: "Unauthorized"}
	// ErrForbidden: the principal's role does not allow the call (HTTP 403).
	ErrForbidden = &Error{Status: http.StatusForbidden, Code: "You do not have permission to perform this action.", Message: "Forbidden"}
	// ErrBodyTooLarge: a request body over the configured limit (HTTP 413).
	ErrBodyTooLarge = &Error{Status: http.StatusRequestEntityTooLarge, Code: "Request body is too large.", Message: "Request body too large"}
	// ErrQueueFull: the activity Recorder refused an event because its
	// queue is full or it is stopped (HTTP 503).
	ErrQueueFull = &Error{Status: http.StatusServiceUnavailable, Code: "Activity queue is full; retry later.", Message: "Service unavailable"}
)

// badParam returns a 400 *Error for one parameter or body field.
func badParam(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: fmt.Sprintf(format, args...), Message: "Invalid parameter", Field: field}
}

// badBody returns a 400 *Error for a request body.
func badBody(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: fmt.Sprintf(format, args...), Message: "Invalid request body", Field: field}
}

func notFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: what + " not found", Message: "Not found"}
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
// store.ErrNotFound 404; store.ErrUnavailable and deadline expiry 503; a
// cancelled request 499 (never sent: the client is gone); anything else is
// 500 with the message "Failed to <action>" and nothing of the error text.
func StatusOf(err error, action string) (int, ErrorBody) {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Status, ErrorBody{Error: ae.Code, Message: ae.Message, Field: ae.Field}
	}
	if ve, ok := store.AsValidation(err); ok {
		return http.StatusBadRequest, ErrorBody{Error: ve.Error(), Message: "Invalid request", Field: ve.Field}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, ErrorBody{Error: "not found", Message: "Not found"}
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
