-- Identity hardening (issue 11): a verified step before a first second factor is enrolled, the
-- device and latest address of each session, what a person is told after signing in, addresses
-- each user signed in from, enrolment codes an admin issues, and API tokens owned by a person and
-- bound to networks.

CREATE TABLE sessions_0006 (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    stage TEXT NOT NULL CHECK (stage IN ('second_factor', 'enrol_verify', 'totp_enrollment', 'password_change', 'active')),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    absolute_expires_at TEXT NOT NULL,
    source TEXT NOT NULL,
    code_hash TEXT,
    code_expires_at TEXT,
    code_attempts INTEGER NOT NULL DEFAULT 0,
    revoked_at TEXT,
    -- The address of the latest request (source is where the session began).
    last_source TEXT NOT NULL DEFAULT '',
    -- The browser's User-Agent, cut to 200 characters: how people recognise their devices.
    user_agent TEXT NOT NULL DEFAULT '',
    -- Shown once signed in: the sign-in before this one and the failures since it.
    prior_signin_at TEXT,
    prior_signin_source TEXT,
    failures_since INTEGER NOT NULL DEFAULT 0,
    -- When the person last proved password and factor again inside this session.
    reauth_at TEXT
) STRICT;
INSERT INTO sessions_0006 (id_hash, user_id, stage, csrf_token, created_at, last_seen_at,
                           absolute_expires_at, source, code_hash, code_expires_at, code_attempts,
                           revoked_at, last_source)
    SELECT id_hash, user_id, stage, csrf_token, created_at, last_seen_at, absolute_expires_at,
           source, code_hash, code_expires_at, code_attempts, revoked_at, source
    FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_0006 RENAME TO sessions;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(absolute_expires_at);

-- Set by an admin's factor reset: the next sign-in must enrol a factor (after a verified step).
ALTER TABLE users ADD COLUMN must_enrol INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_signin_at TEXT;
ALTER TABLE users ADD COLUMN last_signin_source TEXT;
-- A one-time enrolment code an admin issued (hashed), for a user who cannot receive mail.
ALTER TABLE users ADD COLUMN enrolment_code_hash TEXT;
ALTER TABLE users ADD COLUMN enrolment_code_expires_at TEXT;

-- Every address a user completed a sign-in from, for "new address" notices and alerts.
CREATE TABLE signin_sources (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (user_id, source)
) STRICT;

-- The person a token acts for (NULL: made on the console, owned by the operator) and the
-- networks it may be used from (comma-separated CIDR; NULL: anywhere).
ALTER TABLE api_tokens ADD COLUMN owner_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE api_tokens ADD COLUMN networks TEXT;
