-- Alerts (issue 19): each alert from its opening to its resolution, keyed
-- by (kind, subject) while open; the hooks that hear of them; and their
-- outbox of signed messages (claimed with a lease, retried on the delivery
-- backoff), like the deliveries of outbound postbacks.
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, state TEXT NOT NULL,
    advertiser_id TEXT, offer_id TEXT, affiliate_id TEXT, summary TEXT NOT NULL, figures TEXT NOT NULL,
    opened_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, resolved_ms INTEGER, clear_since_ms INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open ON alerts (kind, subject) WHERE state = 'open';
CREATE INDEX IF NOT EXISTS alerts_opened ON alerts (opened_ms);

CREATE TABLE IF NOT EXISTS alert_hooks (
    id TEXT PRIMARY KEY, url TEXT NOT NULL, kinds TEXT NOT NULL, format TEXT NOT NULL,
    secret TEXT NOT NULL, created_ms INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS alert_deliveries (
    id TEXT PRIMARY KEY, hook_id TEXT NOT NULL, alert_id TEXT, event TEXT NOT NULL, body TEXT NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_ms INTEGER NOT NULL,
    lease_until INTEGER NOT NULL, leased_by TEXT, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
    last_error TEXT, last_status INTEGER
);
CREATE INDEX IF NOT EXISTS alert_deliveries_due ON alert_deliveries (state, next_attempt_ms);
CREATE INDEX IF NOT EXISTS alert_deliveries_hook ON alert_deliveries (hook_id, created_ms);
