-- Prefix indexes for every prefix length from 1 to 10 characters (0004 had 2 and 3), and invoices
-- listed by status, and an index for every list sort.
--
-- FTS5 answers a prefix term ("design"*) from a prefix index only when the index has exactly that
-- length; for any other length it first merges the doclists of every term that starts with it, so
-- a word in 166k time-entry notes cost ~4 ms before the first row came out, and a user name that is
-- in every time entry ~60 ms (docs/PERFORMANCE.md, "Search"). With an index of that length the
-- matches stream in rowid order and the page size stops them. Words people type are rarely longer
-- than 10 characters; a longer one still works, at the merging cost. FTS5 cannot change the
-- prefix option of an existing table, so each table is built anew from the old one's rows.
CREATE VIRTUAL TABLE search_clients_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6 7 8 9 10'
);
INSERT INTO search_clients_new (rowid, title, body) SELECT rowid, title, body FROM search_clients;
DROP TABLE search_clients;
ALTER TABLE search_clients_new RENAME TO search_clients;

CREATE VIRTUAL TABLE search_contacts_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6 7 8 9 10'
);
INSERT INTO search_contacts_new (rowid, title, body) SELECT rowid, title, body FROM search_contacts;
DROP TABLE search_contacts;
ALTER TABLE search_contacts_new RENAME TO search_contacts;

CREATE VIRTUAL TABLE search_projects_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6 7 8 9 10'
);
INSERT INTO search_projects_new (rowid, title, body) SELECT rowid, title, body FROM search_projects;
DROP TABLE search_projects;
ALTER TABLE search_projects_new RENAME TO search_projects;

CREATE VIRTUAL TABLE search_tasks_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6 7 8 9 10'
);
INSERT INTO search_tasks_new (rowid, title, body) SELECT rowid, title, body FROM search_tasks;
DROP TABLE search_tasks;
ALTER TABLE search_tasks_new RENAME TO search_tasks;

CREATE VIRTUAL TABLE search_time_entries_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6 7 8 9 10'
);
INSERT INTO search_time_entries_new (rowid, title, body)
    SELECT rowid, title, body FROM search_time_entries;
DROP TABLE search_time_entries;
ALTER TABLE search_time_entries_new RENAME TO search_time_entries;

CREATE VIRTUAL TABLE search_invoices_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6 7 8 9 10'
);
INSERT INTO search_invoices_new (rowid, title, body) SELECT rowid, title, body FROM search_invoices;
DROP TABLE search_invoices;
ALTER TABLE search_invoices_new RENAME TO search_invoices;

CREATE VIRTUAL TABLE search_documents_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6 7 8 9 10'
);
INSERT INTO search_documents_new (rowid, title, body)
    SELECT rowid, title, body FROM search_documents;
DROP TABLE search_documents;
ALTER TABLE search_documents_new RENAME TO search_documents;

-- Invoices are listed by status (`?status=issued`: what is outstanding) newest first: an index walk
-- that stops at the page size, where invoices_status (status, due_date) left the ids to be sorted.
CREATE INDEX invoices_status_id ON invoices(status, id);

-- Every sort a list offers is an index walk that stops at the page size (storage::records tests
-- check each one's plan); without these, a page of time entries sorted by `updated_at` or `minutes`
-- sorted all 2M rows first. Columns that may be empty sort as '' (storage::records::sort_expr), so
-- their indexes are on that same expression.
CREATE INDEX clients_updated ON clients(updated_at, id);
CREATE INDEX contacts_updated ON contacts(updated_at, id);
CREATE INDEX projects_end ON projects(ifnull(end_date, ''), id);
CREATE INDEX projects_updated ON projects(updated_at, id);
CREATE INDEX tasks_due_sort ON tasks(ifnull(due_date, ''), id);
CREATE INDEX tasks_updated ON tasks(updated_at, id);
CREATE INDEX time_entries_minutes ON time_entries(minutes, id);
CREATE INDEX time_entries_updated ON time_entries(updated_at, id);
CREATE INDEX invoices_number ON invoices(ifnull(number, ''), id);
CREATE INDEX invoices_due_sort ON invoices(ifnull(due_date, ''), id);
CREATE INDEX invoices_total ON invoices(total, id);
CREATE INDEX invoices_updated ON invoices(updated_at, id);
CREATE INDEX documents_updated ON documents(updated_at, id);
