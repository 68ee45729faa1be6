-- Clients in name order, for DomainReader.ClientList: a page of clients is
-- read from this index in order, whatever the number of clients. Names sort
-- by their bytes (COLLATE "C"), as they do on SQLite, so both stores list
-- the same clients in the same order whatever the database's collation.
CREATE INDEX clients_company_name_idx ON clients ((company_name COLLATE "C"), id);
