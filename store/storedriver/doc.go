// Package storedriver is for authors of store drivers: the rules every
// driver applies to what it is given, kept in one place so that all drivers
// accept, normalise and refuse exactly the same records and parameters.
//
// A driver calls the Prepare function of a record before writing it (it
// validates the record and fills its defaults in place: ids, UTC times cut
// to the microsecond, zero times meaning now), ListLimit and CheckDayRange
// before reading, PrepareListParams and PrepareSummaryParams first in
// ActivityList and ActivitySummary (PrepareFilter for a filter alone), and
// EncodeCursor and DecodeCursor for the keyset cursor of
// an ActivityPage. Invalid makes the *store.ValidationError the contract
// asks for. A host does not need this package; it may call a Prepare
// function to check a record before handing it to a store.
//
// What a driver needs beyond this package is the contract itself (package
// store) and its conformance suite (package store/storetest).
package storedriver

import (
	"fmt"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// Invalid returns a *store.ValidationError for field.
func Invalid(field, format string, args ...any) error {
	return &store.ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ID returns id in its canonical lower-case form, or a *store.ValidationError
// on field when id is not a UUID.
func ID(field, id string) (string, error) {
	nid, ok := store.NormalizeUUID(id)
	if !ok {
		return "", Invalid(field, "must be a UUID")
	}
	return nid, nil
}
