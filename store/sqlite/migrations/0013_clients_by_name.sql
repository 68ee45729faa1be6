-- Clients in name order, for DomainReader.ClientList: a page of clients is
-- read from this index in order, whatever the number of clients.
CREATE INDEX clients_company_name ON clients (company_name, id);
