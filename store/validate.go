package store

// Field limits and the defaults of the contract's parameters. Each is
// defined here once; drivers apply them through package storedriver.
const (
	MaxActivityTypeLen = 50
	MaxDescriptionLen  = 255
	MaxUserAgentLen    = 500
	MaxCompanyNameLen  = 255

	ListLimitDefault   = 25   // ActivityListParams.Limit 0
	ListLimitMax       = 1000 // the largest ActivityListParams.Limit
	RollupListDefault  = 100  // limit 0 of HealthSampleList, JobRunList and WeeklyReportList
	RecentListDefault  = 10   // limit 0 of DomainReader.ReportRecent
	DeleteBatchDefault = 5000 // batchSize 0 of Store.ActivityDeleteBefore
	IteratePageSize    = 1000 // rows ActivityReader.ActivityIterate reads per query

	// Activity metadata limits, checked on every insert (a violation is a
	// *ValidationError of field "metadata").
	MaxMetadataBytes = 16 << 10 // the metadata encoded as JSON
	MaxMetadataKeys  = 64       // keys in all, those of nested objects included
	MaxMetadataDepth = 8        // nesting of objects and arrays; the metadata object itself is level 1
)

// Normalize validates p and returns it with its defaults filled (Limit 0 →
// ListLimitDefault). Drivers call it so they refuse the same parameters.
func (p ActivityListParams) Normalize() (ActivityListParams, error) {
	switch {
	case p.Limit < 0 || p.Limit > ListLimitMax:
		return p, invalid("limit", "must be between 1 and %d", ListLimitMax)
	case p.Offset < 0:
		return p, invalid("offset", "must not be negative")
	case p.Cursor != "" && p.Offset != 0:
		return p, invalid("offset", "must be 0 with a cursor")
	}
	if p.Limit == 0 {
		p.Limit = ListLimitDefault
	}
	return p, nil
}

// Normalize validates p and returns it with its defaults filled (an empty
// GroupBy → GroupByType). Drivers call it so they refuse the same
// parameters.
func (p ActivitySummaryParams) Normalize() (ActivitySummaryParams, error) {
	switch p.GroupBy {
	case "":
		p.GroupBy = GroupByType
	case GroupByType, GroupByUser, GroupByDay:
	default:
		return p, invalid("group_by", "must be one of activity_type, user, day")
	}
	if p.Limit < 0 {
		return p, invalid("limit", "must not be negative")
	}
	return p, nil
}
