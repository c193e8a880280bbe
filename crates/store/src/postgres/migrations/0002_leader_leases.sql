-- Housekeeping that must run once across nodes (hold release, click
-- retention, session expiry) is led by one node at a time: a lease per
-- task, taken atomically when it is free or ended, so a dead leader's
-- work moves on to another node when its lease ends.
CREATE TABLE leader_leases (task TEXT PRIMARY KEY, node TEXT NOT NULL, until_ms BIGINT NOT NULL);
