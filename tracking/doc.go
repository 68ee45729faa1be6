// Package tracking captures who did what in a web application: net/http
// middleware that turns requests into activities, the rules that name them,
// trusted client-IP resolution, and the Recorder that writes them to a store
// in the background.
//
// # Guarantees
//
// The middleware never slows or breaks a request:
//   - the request never waits for a database write: a tracked request only
//     puts an event on the Recorder's bounded queue; building the
//     description, metadata and stored IP happens in the Recorder's writer
//     goroutines;
//   - tracking never changes the response and never fails the request: a
//     full queue is a counted drop, and a panic in the tracking code (or in
//     the Identify hook) is recovered and logged;
//   - http.Flusher, http.Hijacker and http.ResponseController keep working
//     through the middleware;
//   - requests it cannot track pass through without allocating.
//
// The Recorder never loses an accepted event silently: each one is written
// exactly once or counted in RecorderStats as failed or quarantined, and
// each refused one is counted as dropped with its reason. A store outage is
// retried with exponential back-off while the bounded queue absorbs new
// events; Close writes everything accepted before it, bounded by its
// context's deadline.
//
// # Durability
//
// With RecorderConfig.SpoolDir the Recorder keeps a spool (package
// tracking/spool) in front of the store: Record returns once its event is
// fsynced there (concurrent calls share one fsync), events given to Enqueue
// or captured by the middleware reach it within SpoolWindow (50 ms by
// default) plus one fsync — the only window in which a SIGKILL or a power
// loss can cost them — and a store outage is held on disk up to
// SpoolMaxBytes. The spool is written to the store in order; what a killed
// process left is written by the next Recorder opened on the directory,
// exactly once (a replayed event the store already holds, which it reports
// as store.ErrConflict, counts as written). A batch failing PoisonAttempts
// times with the same unclassified error is split and the one bad event
// quarantined to DeadLetterFile.
//
// Client IPs are taken from forwarding headers only when the peer is a
// configured trusted proxy (or through a configured hop count): a client
// cannot forge its address by sending X-Forwarded-For itself. Addresses can
// be stored in full, truncated to their network, as a keyed hash, or not at
// all (IPStorage); an IPStore applies the same mode to activities a host
// records itself.
//
// # What is tracked
//
// By default: requests of an identified user whose response status is
// below 400 and whose method is POST, PUT, PATCH or DELETE, plus requests
// matching a Rule (downloads and dashboard views in DefaultRules; an
// analytics handler mounted elsewhere than AnalyticsPathDefault has its
// dashboard views matched by DefaultRulesAt). Requests
// matching no rule are recorded as "other" with the description
// "{METHOD} {path}". Handlers refine an activity through the request-context
// helpers AddMetadata, SetActivity, SetIdentity and Skip.
//
// Every activity recorded by the middleware carries the metadata keys
// "path", "method", "status", "duration_ms" and "bytes", plus "report_id",
// "client_id" and "format" when the path holds them. Query strings are never
// stored; the user agent is cut to 500 characters and the description to
// 255.
package tracking
