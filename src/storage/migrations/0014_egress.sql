-- The appliance's outbound destinations as the integrations page shows them (issue 15): since when
-- a connection to each was first made or configured, and when one last succeeded. Written by the
-- egress gate's log (`audit::egress`); which destinations are allowed is not decided here but by
-- the configuration file and the webhook endpoints.
CREATE TABLE egress_destinations (
    flow TEXT NOT NULL,
    destination TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_success_at TEXT,
    PRIMARY KEY (flow, destination)
) STRICT;
