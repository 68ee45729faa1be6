-- A client's reports newest first, for DomainReader.ReportRecent with a
-- client: read from this index in order, however many reports the client
-- has.
CREATE INDEX reports_client_created_at_idx ON reports (client_id, created_at, id);
