-- The seven full-text tables without FTS5's per-row size table (`columnsize = 0`), rebuilt from the
-- rows of 0016's under the same record ids, with the same prefix indexes (3, 5, 8) and automerge (16).
--
-- FTS5 keeps, for every row, the number of words in each column (`<table>_docsize`), only for its
-- bm25 ranking, which holdfast does not use (storage::search ranks by title words, then newest
-- first). Each create, update and delete wrote or removed a row there: on an update or a delete a
-- page of its own, encrypted and MACed by SQLCipher at COMMIT (docs/PERFORMANCE.md, "Writes: one
-- full-text segment per batch"). FTS5 cannot change this option of an existing table, so each is
-- built anew.

CREATE VIRTUAL TABLE search_clients_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 5 8', columnsize = 0
);
INSERT INTO search_clients_new (rowid, title, body) SELECT rowid, title, body FROM search_clients;
DROP TABLE search_clients;
ALTER TABLE search_clients_new RENAME TO search_clients;
INSERT INTO search_clients (search_clients, rank) VALUES ('automerge', 16);

CREATE VIRTUAL TABLE search_contacts_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 5 8', columnsize = 0
);
INSERT INTO search_contacts_new (rowid, title, body) SELECT rowid, title, body FROM search_contacts;
DROP TABLE search_contacts;
ALTER TABLE search_contacts_new RENAME TO search_contacts;
INSERT INTO search_contacts (search_contacts, rank) VALUES ('automerge', 16);

CREATE VIRTUAL TABLE search_projects_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 5 8', columnsize = 0
);
INSERT INTO search_projects_new (rowid, title, body) SELECT rowid, title, body FROM search_projects;
DROP TABLE search_projects;
ALTER TABLE search_projects_new RENAME TO search_projects;
INSERT INTO search_projects (search_projects, rank) VALUES ('automerge', 16);

CREATE VIRTUAL TABLE search_tasks_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 5 8', columnsize = 0
);
INSERT INTO search_tasks_new (rowid, title, body) SELECT rowid, title, body FROM search_tasks;
DROP TABLE search_tasks;
ALTER TABLE search_tasks_new RENAME TO search_tasks;
INSERT INTO search_tasks (search_tasks, rank) VALUES ('automerge', 16);

CREATE VIRTUAL TABLE search_time_entries_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 5 8', columnsize = 0
);
INSERT INTO search_time_entries_new (rowid, title, body) SELECT rowid, title, body FROM search_time_entries;
DROP TABLE search_time_entries;
ALTER TABLE search_time_entries_new RENAME TO search_time_entries;
INSERT INTO search_time_entries (search_time_entries, rank) VALUES ('automerge', 16);

CREATE VIRTUAL TABLE search_invoices_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 5 8', columnsize = 0
);
INSERT INTO search_invoices_new (rowid, title, body) SELECT rowid, title, body FROM search_invoices;
DROP TABLE search_invoices;
ALTER TABLE search_invoices_new RENAME TO search_invoices;
INSERT INTO search_invoices (search_invoices, rank) VALUES ('automerge', 16);

CREATE VIRTUAL TABLE search_documents_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 5 8', columnsize = 0
);
INSERT INTO search_documents_new (rowid, title, body) SELECT rowid, title, body FROM search_documents;
DROP TABLE search_documents;
ALTER TABLE search_documents_new RENAME TO search_documents;
INSERT INTO search_documents (search_documents, rank) VALUES ('automerge', 16);
