-- Traffic flows: a link may send each visitor to one of several offers or
-- landing pages. A click keeps the rule and the target that took it, whether
-- it was blocked, and its offer when a flow chose another than its link's
-- (NULL: its link's offer, so most clicks stay as small as before). Conversions
-- keep the rule and target beside the click's other dimensions. A link's
-- flow is kept beside its document.
ALTER TABLE links ADD COLUMN flow TEXT;
ALTER TABLE clicks ADD COLUMN offer_id TEXT;
ALTER TABLE clicks ADD COLUMN rule TEXT;
ALTER TABLE clicks ADD COLUMN target TEXT;
ALTER TABLE clicks ADD COLUMN blocked INTEGER;
ALTER TABLE conversions ADD COLUMN rule TEXT;

ALTER TABLE conversions ADD COLUMN target TEXT;

-- rollup_link is keyed by the click's offer, rule and target too: a link's
-- clicks no longer all go to its offer. Existing rows all did.
CREATE TABLE rollup_link_q_v4 (bucket_ms INTEGER NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL,
    source TEXT NOT NULL, rule TEXT NOT NULL, target TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, offer_id, source, rule, target)) WITHOUT ROWID;
CREATE TABLE rollup_link_d_v4 (bucket_ms INTEGER NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL,
    source TEXT NOT NULL, rule TEXT NOT NULL, target TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, offer_id, source, rule, target)) WITHOUT ROWID;
INSERT INTO rollup_link_q_v4
    SELECT r.bucket_ms, r.link_id, COALESCE(l.offer_id, ''), r.source, '', '', r.clicks, r.unique_clicks, r.bot_clicks, r.suspicious_clicks
    FROM rollup_link_q r LEFT JOIN links l ON l.id = r.link_id;
INSERT INTO rollup_link_d_v4
    SELECT r.bucket_ms, r.link_id, COALESCE(l.offer_id, ''), r.source, '', '', r.clicks, r.unique_clicks, r.bot_clicks, r.suspicious_clicks
    FROM rollup_link_d r LEFT JOIN links l ON l.id = r.link_id;
DROP TABLE rollup_link_q;
DROP TABLE rollup_link_d;
ALTER TABLE rollup_link_q_v4 RENAME TO rollup_link_q;
ALTER TABLE rollup_link_d_v4 RENAME TO rollup_link_d;
