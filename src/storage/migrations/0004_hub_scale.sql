-- The hub at scale (benches/hub.rs: 100k clients, 200k projects, 2M time entries).
--
-- Full-text search: one FTS5 table per module instead of one shared table. The record id is the
-- rowid, so a module's search touches only that module's entries (a word common in time-entry notes
-- no longer slows down a client search), finding a record's entry is a rowid lookup, and a list
-- "newest first" reads matches in rowid order and stops at the page size. Prefix indexes for two and
-- three characters keep short typed prefixes ("ko*") from expanding to every term.
CREATE VIRTUAL TABLE search_clients USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE VIRTUAL TABLE search_contacts USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE VIRTUAL TABLE search_projects USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE VIRTUAL TABLE search_tasks USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE VIRTUAL TABLE search_time_entries USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE VIRTUAL TABLE search_invoices USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE VIRTUAL TABLE search_documents USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
INSERT INTO search_clients (rowid, title, body)
    SELECT record_id, title, body FROM search_index WHERE module = 'clients';
INSERT INTO search_contacts (rowid, title, body)
    SELECT record_id, title, body FROM search_index WHERE module = 'contacts';
INSERT INTO search_projects (rowid, title, body)
    SELECT record_id, title, body FROM search_index WHERE module = 'projects';
INSERT INTO search_tasks (rowid, title, body)
    SELECT record_id, title, body FROM search_index WHERE module = 'tasks';
INSERT INTO search_time_entries (rowid, title, body)
    SELECT record_id, title, body FROM search_index WHERE module = 'time-entries';
INSERT INTO search_invoices (rowid, title, body)
    SELECT record_id, title, body FROM search_index WHERE module = 'invoices';
INSERT INTO search_documents (rowid, title, body)
    SELECT record_id, title, body FROM search_index WHERE module = 'documents';
DROP TABLE search_index;

-- A project's time entries newest first: walk this index backwards and stop at the page size,
-- instead of reading and sorting every entry of the project. The same for every other list filter
-- (storage::records tests check each filter's plan).
CREATE INDEX time_entries_project_id ON time_entries(project_id, id);
CREATE INDEX time_entries_user_id ON time_entries(user, id);
CREATE INDEX time_entries_task ON time_entries(task_id, id);
CREATE INDEX projects_manager ON projects(manager, id);
CREATE INDEX tasks_assignee ON tasks(assignee, id);
CREATE INDEX tasks_status ON tasks(status, id);
CREATE INDEX tasks_priority ON tasks(priority, id);
CREATE INDEX invoices_project ON invoices(project_id, id);
-- Deleting an invoice sets its time entries' invoice_id to NULL: without an index that is a scan of
-- every time entry, inside the one writer. Most entries are not billed, so the index leaves them out.
CREATE INDEX time_entries_invoice ON time_entries(invoice_id) WHERE invoice_id IS NOT NULL;

-- Sorting by a name or title ignores letter case; the indexes use the same collation as the
-- ORDER BY (storage::records::sort_expr), so the sorted lists stay index walks.
DROP INDEX clients_name;
CREATE INDEX clients_name ON clients(name COLLATE NOCASE, id);
DROP INDEX contacts_name;
CREATE INDEX contacts_name ON contacts(name COLLATE NOCASE, id);
DROP INDEX projects_name;
CREATE INDEX projects_name ON projects(name COLLATE NOCASE, id);
CREATE INDEX tasks_title ON tasks(title COLLATE NOCASE, id);
CREATE INDEX documents_title ON documents(title COLLATE NOCASE, id);
