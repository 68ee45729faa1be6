package store

import (
	"errors"
	"fmt"
)

// The sentinel errors every Store implementation returns (wrapped with the
// operation, so test with errors.Is), and the lists of valid values of the
// enumerated record fields.
var (
	// ErrNotFound is returned when the requested entity does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned when a write collides with existing data that
	// must not be overwritten (for example a job run key already taken).
	ErrConflict = errors.New("store: conflict")
	// ErrUnavailable is returned when the database cannot be reached or is
	// shutting down; callers may retry later.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrNotOwner is returned by ReportUpsertMany with an owner when a
	// report to replace was created by someone else.
	ErrNotOwner = errors.New("store: report created by another user")

	// Categories lists every valid Category.
	Categories = []Category{CategoryCost, CategorySecurity, CategoryReliability,
		CategoryOperationalExcellence, CategoryPerformance}

	// Impacts lists every valid Impact.
	Impacts = []Impact{ImpactHigh, ImpactMedium, ImpactLow}

	// Industries lists every valid Industry.
	Industries = []Industry{IndustryTechnology, IndustryHealthcare, IndustryFinance, IndustryEducation,
		IndustryManufacturing, IndustryRetail, IndustryGovernment, IndustryConsulting, IndustryOther}

	// ReportTypes lists every valid ReportType in the order the trends route
	// reports them.
	ReportTypes = []ReportType{ReportCost, ReportSecurity, ReportOperations, ReportDetailed, ReportExecutive}
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

// invalid returns a *ValidationError for field.
func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// BatchError is the error of a batch write (ReportUpsertMany) about one of
// its records: Index is the record's position in the batch. Nothing of the
// batch was written. Err is a *ValidationError, ErrNotOwner or the
// database's error.
type BatchError struct {
	Index int
	Err   error
}

// Error implements error.
func (e *BatchError) Error() string {
	return fmt.Sprintf("record %d: %v", e.Index, e.Err)
}

// Unwrap returns Err.
func (e *BatchError) Unwrap() error { return e.Err }
