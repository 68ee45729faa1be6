-- The primary key's index carries each activity's user key (INCLUDE): the
-- counts by user of the part of a day at an edge of a range (a summary by
-- user over 90 days reads half a day at most at each edge) then come from
-- the index alone, without a visit to the heap page of every row. 4 bytes
-- an index entry (8 with alignment). The index of every partition is built
-- again, holding an ACCESS EXCLUSIVE lock on activities meanwhile: about
-- 1.3 s per million activities on 2 vCPUs.
ALTER TABLE activities DROP CONSTRAINT activities_pkey,
    ADD CONSTRAINT activities_pkey PRIMARY KEY (created_at, id) INCLUDE (user_key);
