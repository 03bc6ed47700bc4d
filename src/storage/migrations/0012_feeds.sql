-- Calendar feeds (issue 15): one private iCalendar feed per person, reached by a random token that
-- is stored only as its SHA-256. A revoked row stays for the security log's references.
CREATE TABLE feed_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    include_time INTEGER NOT NULL DEFAULT 0 CHECK (include_time IN (0, 1)),
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    last_used_at TEXT
) STRICT;
-- At most one live feed per person: switching on again replaces the old token.
CREATE UNIQUE INDEX feed_tokens_live ON feed_tokens(user_id) WHERE revoked_at IS NULL;
