-- 0001: the schema as it stood when migrations began to be numbered.
-- Every statement is CREATE ... IF NOT EXISTS, so a file from before the
-- numbering (its tables already there, brought up to date by the legacy
-- upgrades in migrate.rs) is adopted as it is. Never edit a shipped
-- migration: a change is a new numbered file.

CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);

-- configuration
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS advertisers (id TEXT PRIMARY KEY, secrets TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS offers (id TEXT PRIMARY KEY, advertiser_id TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS affiliates (id TEXT PRIMARY KEY, secrets TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS links (id TEXT PRIMARY KEY, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, key_id TEXT NOT NULL,
    action TEXT NOT NULL, entity_kind TEXT NOT NULL, entity_id TEXT NOT NULL,
    before TEXT, after TEXT
);
CREATE INDEX IF NOT EXISTS audit_entity ON audit (entity_id);
CREATE TABLE IF NOT EXISTS template_versions (
    entity_kind TEXT NOT NULL, entity_id TEXT NOT NULL, version INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL, key_id TEXT NOT NULL, template TEXT NOT NULL,
    PRIMARY KEY (entity_kind, entity_id, version)
);

-- clicks
CREATE TABLE IF NOT EXISTS clicks (
    id BLOB PRIMARY KEY, ts_ms INTEGER NOT NULL, link_id TEXT NOT NULL,
    sub1 TEXT, sub2 TEXT, sub3 TEXT, sub4 TEXT, sub5 TEXT, source TEXT, extra TEXT,
    ip TEXT NOT NULL, country TEXT NOT NULL, ua_id INTEGER NOT NULL, referer_host TEXT NOT NULL,
    is_unique INTEGER NOT NULL, is_bot INTEGER NOT NULL,
    suspicious INTEGER NOT NULL, test INTEGER NOT NULL,
    -- parameters cut to the bounds; NULL (one header byte) when none were
    params_cut INTEGER
) WITHOUT ROWID;
-- Bytes per click matter at 10^8 clicks, so a click keeps only what cannot
-- be derived: no time index (click ids begin with their time, so a time
-- range is an id range); no offer or affiliate (a link's never change: they
-- come from `links`); no device, OS or browser (they follow from the user
-- agent, which is stored once, with them, in `user_agents`).
CREATE TABLE IF NOT EXISTS user_agents (
    id INTEGER PRIMARY KEY, ua TEXT NOT NULL UNIQUE, device TEXT NOT NULL, os TEXT NOT NULL, browser TEXT NOT NULL);

-- click rollups (see rollup.rs): per report shape a 15-minute (`_q`) and a
-- UTC-day (`_d`) table, keyed by bucket and the shape's columns
CREATE TABLE IF NOT EXISTS rollup_link_q (bucket_ms INTEGER NOT NULL, link_id TEXT NOT NULL, source TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, source)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_link_d (bucket_ms INTEGER NOT NULL, link_id TEXT NOT NULL, source TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, source)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_geo_q (bucket_ms INTEGER NOT NULL, offer_id TEXT NOT NULL, country TEXT NOT NULL, device TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, country, device)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_geo_d (bucket_ms INTEGER NOT NULL, offer_id TEXT NOT NULL, country TEXT NOT NULL, device TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, country, device)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_sub_q (bucket_ms INTEGER NOT NULL, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub1 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, affiliate_id, sub1)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_sub_d (bucket_ms INTEGER NOT NULL, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub1 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, affiliate_id, sub1)) WITHOUT ROWID;

-- conversions
CREATE TABLE IF NOT EXISTS conversions (
    id TEXT PRIMARY KEY, click_id BLOB NOT NULL, offer_id TEXT NOT NULL,
    advertiser_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, link_id TEXT NOT NULL,
    event TEXT NOT NULL, txid TEXT,
    -- 1 for an event that counts once per click, NULL for a repeatable one:
    -- the unique index conversions_click_once (click_id, event, once) makes
    -- the once-per-click rule a constraint (NULLs never collide) and serves
    -- every lookup by click as well
    once INTEGER,
    status TEXT NOT NULL, status_received TEXT,
    amount_micros INTEGER, currency TEXT NOT NULL,
    payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, payout_currency TEXT NOT NULL,
    click_ms INTEGER NOT NULL, conv_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
    too_fast INTEGER NOT NULL, test INTEGER NOT NULL, capped INTEGER NOT NULL, parent_id TEXT,
    payout_base_micros INTEGER, revenue_base_micros INTEGER, fx_missing INTEGER NOT NULL,
    hold_until_ms INTEGER, duplicates INTEGER NOT NULL,
    -- the click's dimensions, so reports never join 10^7 clicks
    source TEXT, sub1 TEXT, sub2 TEXT, sub3 TEXT, sub4 TEXT, sub5 TEXT,
    country TEXT NOT NULL, device TEXT NOT NULL, os TEXT NOT NULL, browser TEXT NOT NULL
);
-- (click-time ranges use conversions_click_once: click ids begin with their time)
CREATE INDEX IF NOT EXISTS conversions_parent ON conversions (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS conversions_hold ON conversions (hold_until_ms) WHERE hold_until_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS conversions_offer_time ON conversions (offer_id, conv_ms);
CREATE UNIQUE INDEX IF NOT EXISTS conversions_txid ON conversions (offer_id, event, txid) WHERE txid IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS conversions_click_once ON conversions (click_id, event, once);
CREATE INDEX IF NOT EXISTS conversions_time ON conversions (conv_ms);
CREATE TABLE IF NOT EXISTS postback_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, source_ip TEXT NOT NULL,
    method TEXT NOT NULL, advertiser_id TEXT, offer_id TEXT, click_id TEXT, fields TEXT NOT NULL,
    result TEXT NOT NULL, error TEXT, message TEXT NOT NULL, hint TEXT, conversion_id TEXT,
    http_status INTEGER NOT NULL, pii_removed INTEGER NOT NULL, txid TEXT
);
CREATE INDEX IF NOT EXISTS postback_log_time ON postback_log (ts_ms);

-- money
CREATE TABLE IF NOT EXISTS ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT, affiliate_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, kind TEXT NOT NULL,
    amount_micros INTEGER NOT NULL, currency TEXT NOT NULL, amount_base_micros INTEGER,
    conversion_id TEXT, reason TEXT
);
CREATE INDEX IF NOT EXISTS ledger_affiliate ON ledger (affiliate_id, ts_ms);
CREATE TABLE IF NOT EXISTS fx_rates (currency TEXT NOT NULL, date TEXT NOT NULL, rate TEXT NOT NULL, PRIMARY KEY (currency, date));

-- postbacks to affiliates
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY, affiliate_id TEXT NOT NULL, conversion_id TEXT NOT NULL, status TEXT NOT NULL,
    method TEXT NOT NULL, url TEXT NOT NULL, body TEXT, state TEXT NOT NULL, attempts INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL, lease_until INTEGER NOT NULL, created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL, last_error TEXT, last_status INTEGER, leased_by TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_attempt_ms);
CREATE INDEX IF NOT EXISTS deliveries_affiliate ON deliveries (affiliate_id, created_ms);
CREATE TABLE IF NOT EXISTS delivery_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, delivery_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, url TEXT NOT NULL,
    status INTEGER, latency_ms INTEGER NOT NULL, response TEXT NOT NULL, error TEXT
);
CREATE INDEX IF NOT EXISTS delivery_attempts_delivery ON delivery_attempts (delivery_id);
CREATE TABLE IF NOT EXISTS destinations (
    affiliate_id TEXT PRIMARY KEY, consecutive_failures INTEGER NOT NULL, suspended INTEGER NOT NULL,
    reason TEXT, updated_ms INTEGER NOT NULL
);

-- dashboard users: only an argon2id hash of a password is kept; sessions
-- and one-time links are stored by the SHA-256 of the browser's value
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE, password_hash TEXT NOT NULL,
    role TEXT NOT NULL, partner_id TEXT, created_ms INTEGER NOT NULL, disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY, user_id TEXT, key_hash TEXT, csrf TEXT NOT NULL,
    created_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE TABLE IF NOT EXISTS invitations (
    token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, kind TEXT NOT NULL, created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL, used_ms INTEGER, created_by TEXT NOT NULL
);
