-- Identity and access: users, groups, permissions, sessions, second factors, setup tokens,
-- the mail outbox and the append-only, hash-chained security log.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL COLLATE NOCASE UNIQUE,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    password_changed_at TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_at TEXT,
    disabled_at TEXT,
    second_factor TEXT NOT NULL DEFAULT 'none' CHECK (second_factor IN ('none', 'email', 'totp')),
    totp_secret BLOB,
    totp_pending_secret BLOB,
    totp_last_step INTEGER,
    support_expires_at TEXT,
    support_networks TEXT,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE password_history (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX password_history_user ON password_history(user_id, created_at);

CREATE TABLE groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    builtin INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE group_permissions (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (group_id, permission)
) STRICT;

CREATE TABLE user_groups (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
) STRICT;

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    stage TEXT NOT NULL CHECK (stage IN ('second_factor', 'totp_enrollment', 'password_change', 'active')),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    absolute_expires_at TEXT NOT NULL,
    source TEXT NOT NULL,
    code_hash TEXT,
    code_expires_at TEXT,
    code_attempts INTEGER NOT NULL DEFAULT 0,
    revoked_at TEXT
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TEXT
) STRICT;

CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
) STRICT;

CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    sent_at TEXT,
    failed_at TEXT
) STRICT;
CREATE INDEX mail_outbox_due ON mail_outbox(sent_at, failed_at, next_attempt_at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    target TEXT NOT NULL,
    source TEXT NOT NULL,
    outcome TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_event ON audit_log(event, at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log rows are append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log rows are append-only'); END;

INSERT INTO groups (name, description, builtin) VALUES
    ('admins', 'Administrators of this instance', 1),
    ('users', 'Everyone who works in the hub', 1);
INSERT INTO group_permissions (group_id, permission)
    SELECT id, 'admin' FROM groups WHERE name = 'admins';
INSERT INTO group_permissions (group_id, permission)
    SELECT g.id, m.module || ':' || a.action
    FROM groups g,
         (SELECT 'clients' AS module UNION ALL SELECT 'contacts' UNION ALL SELECT 'projects'
          UNION ALL SELECT 'tasks' UNION ALL SELECT 'time' UNION ALL SELECT 'invoices'
          UNION ALL SELECT 'documents') m,
         (SELECT 'view' AS action UNION ALL SELECT 'create' UNION ALL SELECT 'edit') a
    WHERE g.name = 'users';
