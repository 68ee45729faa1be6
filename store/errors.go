package store

import (
	"errors"
	"fmt"
)

// Sentinel errors every Store implementation returns (wrapped with the
// operation, so test with errors.Is).
var (
	// ErrNotFound is returned when the requested entity does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned when a write collides with existing data that
	// must not be overwritten (for example a job run key already taken).
	ErrConflict = errors.New("store: conflict")
	// ErrUnavailable is returned when the database cannot be reached or is
	// shutting down; callers may retry later.
	ErrUnavailable = errors.New("store: unavailable")
)

// ValidationError reports a record or parameter that breaks the contract.
// Field names the offending field with its JSON (snake_case) name, for
// example "activity_type" or "recommendations[3].potential_savings".
type ValidationError struct {
	Field  string
	Reason string
}

// Error implements error.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// Invalid returns a *ValidationError for field.
func Invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// AsValidation reports whether err is or wraps a *ValidationError and
// returns it.
func AsValidation(err error) (*ValidationError, bool) {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve, true
	}
	return nil, false
}
