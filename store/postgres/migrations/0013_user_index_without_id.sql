-- The user index of activities leaves out the activity id: (user_key,
-- created_at) instead of (user_key, created_at, id). A user's activities
-- newest first still come from it in order; the rare activities of one
-- user at the same microsecond are put in id order by an incremental sort
-- of just those rows. Each entry is 16 bytes smaller (24 against 40, with
-- its header), 15 MiB for 1,000,000 activities, and every insert writes
-- less. The new index is built before the old one goes, under a SHARE
-- lock on activities (reads go on, writes wait): about 1 s per million
-- activities on 2 vCPUs.
CREATE INDEX activities_user_key_created_at_idx ON activities (user_key, created_at);
DROP INDEX activities_user_key_created_at_id_idx;
