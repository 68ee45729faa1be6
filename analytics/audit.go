package analytics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// The audit trail's admin actions: activities of type ActivityAdminAction
// of the acting principal, whose metadata.action is one of the Action
// values below and whose other metadata keys (and client and report ids)
// name the targets.
const (
	// ActivityAdminAction is the activity type of an admin action.
	ActivityAdminAction = "admin_action"

	// ActionCacheInvalidate: the cache/invalidate route. No target.
	ActionCacheInvalidate = "cache_invalidate"
	// ActionEraseUserActivity: the erase route. Targets: target_user_id,
	// deleted (the number of activities deleted).
	ActionEraseUserActivity = "erase_user_activity"
	// ActionIngestActivities: ingest/activities. Targets: count,
	// activity_ids (the first 100), activity_ids_truncated.
	ActionIngestActivities = "ingest_activities"
	// ActionIngestReport: ingest/reports. Targets: report_id, client_id,
	// created (the report is new).
	ActionIngestReport = "ingest_report"
	// ActionIngestReports: ingest/reports/batch. Targets: count, created
	// (how many are new), report_ids (the first 100),
	// report_ids_truncated.
	ActionIngestReports = "ingest_reports"
	// ActionIngestClient: ingest/clients. Targets: client_id, created.
	ActionIngestClient = "ingest_client"
	// ActionImportAdvisorCSV: ingest/advisor-csv. Targets: report_id,
	// client_id, rows_imported, rows_skipped.
	ActionImportAdvisorCSV = "import_advisor_csv"
	// ActionTokensReload: a host reloaded its credentials (the reference
	// server on SIGHUP). Targets are the host's.
	ActionTokensReload = "tokens_reload"
	// ActionJobRun: a background job run on demand. Targets: job, run_id,
	// run_key.
	ActionJobRun = "job_run"
)

// auditMaxIDs is the most ids an admin action lists in one metadata key.
const auditMaxIDs = 100

// auditWriteTimeout bounds the store write of an admin action; it does not
// depend on the caller's context, which may end with the request.
const auditWriteTimeout = 10 * time.Second

// AdminAction is an administrative action to record in the audit trail.
type AdminAction struct {
	// Action is metadata.action: one of the Action constants or a host's
	// own name. Required.
	Action string
	// Description defaults to "Admin action: " + Action.
	Description string
	// ClientID and ReportID are the client and report acted on, if any
	// (UUIDs); they are stored in the activity's own columns, so that
	// entity-history lists the action, and repeated in the metadata.
	ClientID string
	ReportID string
	// Targets are further metadata keys (target ids, counts). The keys
	// "action", "client_id" and "report_id" are set from the fields above.
	Targets map[string]any
}

// RecordAdminAction records a of p in the audit trail as an activity of
// type ActivityAdminAction. It writes to the store at once (an audit entry
// is not left in a queue); when that fails it hands the activity to the
// Recorder, which retries, and returns an error only if that fails too.
// The Service records its own admin routes; hosts call it for theirs.
func (s *Service) RecordAdminAction(ctx context.Context, p Principal, a AdminAction) error {
	if a.Action == "" {
		return errors.New("analytics: record admin action: Action is empty")
	}
	act := s.adminActivity(ctx, p, a)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditWriteTimeout)
	defer cancel()
	err := s.st.ActivityInsertMany(wctx, []store.Activity{act})
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrConflict) {
		return nil // stored by an attempt that looked failed
	}
	if _, invalid := errors.AsType[*store.ValidationError](err); invalid {
		return fmt.Errorf("analytics: record admin action %s: %w", a.Action, err)
	}
	s.log.WarnContext(ctx, "analytics: admin action not written; queued for the Recorder", "action", a.Action, "err", err)
	if rerr := s.Record(ctx, act); rerr != nil {
		return fmt.Errorf("analytics: record admin action %s: %w", a.Action, errors.Join(err, rerr))
	}
	return nil
}

// adminActivity is the activity that records a of p, with the request
// details of ctx.
func (s *Service) adminActivity(ctx context.Context, p Principal, a AdminAction) store.Activity {
	md := make(map[string]any, len(a.Targets)+3)
	maps.Copy(md, a.Targets)
	md["action"] = a.Action
	if a.ClientID != "" {
		md["client_id"] = a.ClientID
	}
	if a.ReportID != "" {
		md["report_id"] = a.ReportID
	}
	desc := a.Description
	if desc == "" {
		desc = "Admin action: " + a.Action
	}
	act := store.Activity{ID: store.NewID(), UserID: p.ID, Username: p.Username, FullName: p.FullName, ActivityType: ActivityAdminAction,
		Description: desc, ClientID: a.ClientID, ReportID: a.ReportID, Metadata: md, CreatedAt: s.now()}
	if r, ok := valueFrom[requestInfo](ctx); ok {
		act.Method, act.Path = r.method, r.path
		act.UserAgent, act.IPAddress = r.userAgent, r.ip
	}
	return act
}

// audit records an admin action of p after it succeeded; a failure is
// logged, not returned: the action itself is done.
func (s *Service) audit(ctx context.Context, p Principal, a AdminAction) {
	if err := s.RecordAdminAction(ctx, p, a); err != nil {
		s.log.ErrorContext(ctx, "analytics: admin action not recorded in the audit trail", "action", a.Action, "by", p.ID, "err", err)
	}
}

// requestInfo is the request details of an admin action made over HTTP.
type requestInfo struct {
	method, path, userAgent, ip string
}
