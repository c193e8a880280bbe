-- Alerts (issue 19): each alert from its opening to its resolution, keyed
-- by (kind, subject) while open; the hooks that hear of them; and their
-- outbox of signed messages (claimed with a lease, retried on the delivery
-- backoff), like the deliveries of outbound postbacks.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, state TEXT NOT NULL,
    advertiser_id TEXT, offer_id TEXT, affiliate_id TEXT, summary TEXT NOT NULL, figures TEXT NOT NULL,
    opened_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, resolved_ms BIGINT, clear_since_ms BIGINT
);
CREATE UNIQUE INDEX alerts_open ON alerts (kind, subject) WHERE state = 'open';
CREATE INDEX alerts_opened ON alerts (opened_ms);

CREATE TABLE alert_hooks (
    id TEXT PRIMARY KEY, url TEXT NOT NULL, kinds TEXT NOT NULL, format TEXT NOT NULL,
    secret TEXT NOT NULL, created_ms BIGINT NOT NULL
);

CREATE TABLE alert_deliveries (
    id TEXT PRIMARY KEY, hook_id TEXT NOT NULL, alert_id TEXT, event TEXT NOT NULL, body TEXT NOT NULL,
    state TEXT NOT NULL, attempts BIGINT NOT NULL, next_attempt_ms BIGINT NOT NULL,
    lease_until BIGINT NOT NULL, leased_by TEXT, created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL,
    last_error TEXT, last_status BIGINT
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (state, next_attempt_ms);
CREATE INDEX alert_deliveries_hook ON alert_deliveries (hook_id, created_ms);
