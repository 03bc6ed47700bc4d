-- Outbound webhooks (issue 15): the endpoints an administrator registered, and every event queued
-- for one of them in the transaction of the change that caused it (a durable outbox per endpoint).

CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    -- Comma-separated event types (`clients.created`, `invoices.paid`, ... or `*`).
    events TEXT NOT NULL,
    -- Comma-separated scopes as for API tokens (`clients:read`); bodies of other modules never leave.
    scopes TEXT NOT NULL,
    -- The signing secret, sealed with the instance's files key (it is needed in clear to sign).
    secret_sealed BLOB NOT NULL,
    -- Set only by the documented override for an http:// receiver on loopback or an internal network.
    allow_http INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    disabled_at TEXT,
    -- When a delivery gave up after the retry window; cleared by the next success.
    failing_since TEXT,
    last_success_at TEXT
) STRICT;

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    -- The Standard Webhooks `webhook-id`: the same on every attempt and on a manual redelivery
    -- (a new row), so receivers can drop repeats.
    msg_id TEXT NOT NULL,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at TEXT,
    failed_at TEXT,
    last_status INTEGER,
    last_latency_ms INTEGER,
    -- The first bytes of the receiver's last answer, or the connection error.
    last_response TEXT
) STRICT;
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(endpoint_id, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
