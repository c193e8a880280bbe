-- Traffic flows: a link may send each visitor to one of several offers or
-- landing pages. A click keeps the rule and the target that took it, whether
-- it was blocked, and its offer when a flow chose another than its link's
-- (NULL: its link's offer, so most clicks stay as small as before). Conversions
-- keep the rule and target beside the click's other dimensions. A link's
-- flow is kept beside its document.
ALTER TABLE links ADD COLUMN flow TEXT;
ALTER TABLE clicks ADD COLUMN offer_id TEXT, ADD COLUMN rule TEXT, ADD COLUMN target TEXT,
    ADD COLUMN blocked BOOLEAN;
ALTER TABLE conversions ADD COLUMN rule TEXT, ADD COLUMN target TEXT;

-- rollup_link is keyed by the click's offer, rule and target too: a link's
-- clicks no longer all go to its offer. Existing rows all did.
ALTER TABLE rollup_link_q ADD COLUMN offer_id TEXT NOT NULL DEFAULT '',
    ADD COLUMN rule TEXT NOT NULL DEFAULT '', ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE rollup_link_d ADD COLUMN offer_id TEXT NOT NULL DEFAULT '',
    ADD COLUMN rule TEXT NOT NULL DEFAULT '', ADD COLUMN target TEXT NOT NULL DEFAULT '';
UPDATE rollup_link_q r SET offer_id = l.offer_id FROM links l WHERE l.id = r.link_id;
UPDATE rollup_link_d r SET offer_id = l.offer_id FROM links l WHERE l.id = r.link_id;
ALTER TABLE rollup_link_q DROP CONSTRAINT rollup_link_q_pkey,
    ADD PRIMARY KEY (bucket_ms, link_id, offer_id, source, rule, target);
ALTER TABLE rollup_link_d DROP CONSTRAINT rollup_link_d_pkey,
    ADD PRIMARY KEY (bucket_ms, link_id, offer_id, source, rule, target);
