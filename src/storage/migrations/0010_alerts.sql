-- Alerts raised by the watch over the security log (issue 14), and the addresses the watch has
-- seen per administrator and per API token, so "a new address" is one indexed lookup, not a scan
-- of 90 days of sign-ins.

CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,
    -- Who or what the alert is about (an address, an account, a token); repeats of the same rule
    -- and subject fold into the alert that is not closed yet.
    subject TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'closed')),
    summary TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    count INTEGER NOT NULL,
    -- JSON array of the security-log ids behind the alert (the first 50).
    events TEXT NOT NULL,
    -- Query string for the security-log page that shows these events.
    log_filter TEXT NOT NULL,
    note TEXT,
    -- When the alert went out by mail (immediately or in a digest); NULL while waiting.
    mailed_at TEXT,
    changed_at TEXT NOT NULL,
    changed_by TEXT
) STRICT;
CREATE UNIQUE INDEX alerts_one_active ON alerts(rule, subject) WHERE state <> 'closed';
CREATE INDEX alerts_by_state ON alerts(state, id);

CREATE TABLE watch_seen (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    address TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (kind, subject, address)
) STRICT, WITHOUT ROWID;

-- The address a token was last used from: a use from another address is recorded in the log even
-- within the minute that otherwise folds uses together.
ALTER TABLE api_tokens ADD COLUMN last_used_source TEXT;
