-- Activity ids are random UUIDs: an index on id alone dirties a random page
-- per row on every insert. The key becomes (created_at, id), the order every
-- read uses, replacing both the id key and the (created_at, id) index; a
-- replayed event carries its original time, so it still collides.
ALTER TABLE activities DROP CONSTRAINT activities_pkey;
DROP INDEX activities_created_at_id_idx;
ALTER TABLE activities ADD CONSTRAINT activities_pkey PRIMARY KEY (created_at, id);
