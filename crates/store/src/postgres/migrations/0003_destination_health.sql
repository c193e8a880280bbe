-- Destination health (issue 17): a destination is healthy, failing (its jobs
-- wait; one probe per interval goes out, `next_probe_ms` moved forward by
-- the claim that takes it, under the row's lock, so two nodes never both
-- probe) or disabled (after failing for days; a person re-enables it).
-- `suspended` stays, kept equal to state = 'disabled', for readers of the
-- old column.
ALTER TABLE destinations ADD COLUMN state TEXT NOT NULL DEFAULT 'healthy';
ALTER TABLE destinations ADD COLUMN failing_since_ms BIGINT;
ALTER TABLE destinations ADD COLUMN probe_interval_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE destinations ADD COLUMN next_probe_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE destinations ADD COLUMN probe_id TEXT;
ALTER TABLE destinations ADD COLUMN last_error TEXT;
UPDATE destinations SET state = 'disabled' WHERE suspended;

-- Each change of a destination's state (failing, recovered, disabled,
-- enabled), for the API and the dashboard; the alert hook is told of each.
CREATE TABLE destination_events (
    id BIGSERIAL PRIMARY KEY, affiliate_id TEXT NOT NULL, ts_ms BIGINT NOT NULL,
    kind TEXT NOT NULL, consecutive_failures INTEGER NOT NULL, last_error TEXT);
CREATE INDEX destination_events_affiliate ON destination_events (affiliate_id, id);
