-- Prefix indexes of 3, 5 and 8 characters instead of every length from 1 to 10 (0005), and FTS5's
-- automerge at 16 segments instead of 4.
--
-- Writes: every word of every record went into eleven indexes (the terms and ten prefix
-- lengths), and the writer spent about a third of each create keeping them. With three lengths a
-- create costs ~30 % less writer time (docs/PERFORMANCE.md, "Writes: fewer prefix indexes").
-- Reads: a typed word of an indexed length is answered from its index as before; any other word of
-- three letters or more is cut to the longest indexed length below it and each row found is
-- checked for the whole word (storage::search::TextQuery::admits), as words over ten letters were.
-- A word of one or two letters is checked the same way on the rows the query's other words find;
-- a query of only such words matches them as whole words.
-- FTS5 cannot change the prefix option of an existing table, so each table is built anew from the
-- old one's rows, under the same record ids.

CREATE VIRTUAL TABLE search_clients_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 5 8'
);
INSERT INTO search_clients_new (rowid, title, body) SELECT rowid, title, body FROM search_clients;
DROP TABLE search_clients;
ALTER TABLE search_clients_new RENAME TO search_clients;
INSERT INTO search_clients (search_clients, rank) VALUES ('automerge', 16);

CREATE VIRTUAL TABLE search_contacts_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 5 8'
);
INSERT INTO search_contacts_new (rowid, title, body) SELECT rowid, title, body FROM search_contacts;
DROP TABLE search_contacts;
ALTER TABLE search_contacts_new RENAME TO search_contacts;
INSERT INTO search_contacts (search_contacts, rank) VALUES ('automerge', 16);

CREATE VIRTUAL TABLE search_projects_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 5 8'
);
INSERT INTO search_projects_new (rowid, title, body) SELECT rowid, title, body FROM search_projects;
DROP TABLE search_projects;
ALTER TABLE search_projects_new RENAME TO search_projects;
INSERT INTO search_projects (search_projects, rank) VALUES ('automerge', 16);

CREATE VIRTUAL TABLE search_tasks_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 5 8'
);
INSERT INTO search_tasks_new (rowid, title, body) SELECT rowid, title, body FROM search_tasks;
DROP TABLE search_tasks;
ALTER TABLE search_tasks_new RENAME TO search_tasks;
INSERT INTO search_tasks (search_tasks, rank) VALUES ('automerge', 16);

CREATE VIRTUAL TABLE search_time_entries_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 5 8'
);
INSERT INTO search_time_entries_new (rowid, title, body) SELECT rowid, title, body FROM search_time_entries;
DROP TABLE search_time_entries;
ALTER TABLE search_time_entries_new RENAME TO search_time_entries;
INSERT INTO search_time_entries (search_time_entries, rank) VALUES ('automerge', 16);

CREATE VIRTUAL TABLE search_invoices_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 5 8'
);
INSERT INTO search_invoices_new (rowid, title, body) SELECT rowid, title, body FROM search_invoices;
DROP TABLE search_invoices;
ALTER TABLE search_invoices_new RENAME TO search_invoices;
INSERT INTO search_invoices (search_invoices, rank) VALUES ('automerge', 16);

CREATE VIRTUAL TABLE search_documents_new USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 5 8'
);
INSERT INTO search_documents_new (rowid, title, body) SELECT rowid, title, body FROM search_documents;
DROP TABLE search_documents;
ALTER TABLE search_documents_new RENAME TO search_documents;
INSERT INTO search_documents (search_documents, rank) VALUES ('automerge', 16);
