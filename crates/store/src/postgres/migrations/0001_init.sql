-- Clickledger on PostgreSQL, version 1: the same tables as the SQLite
-- default. Times are unix milliseconds (BIGINT), money integer micros of
-- its currency, configuration documents JSON text (parsed, and refused
-- when corrupt, by the program, as on SQLite).

CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
-- bumped by every configuration write, so every node can poll one row
-- to know its cached configuration is stale (LISTEN/NOTIFY is the push)
CREATE TABLE config_stamp (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), n BIGINT NOT NULL);
INSERT INTO config_stamp (n) VALUES (0);

CREATE TABLE api_keys (id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE advertisers (id TEXT PRIMARY KEY, secrets TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE offers (id TEXT PRIMARY KEY, advertiser_id TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE affiliates (id TEXT PRIMARY KEY, secrets TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE links (id TEXT PRIMARY KEY, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, doc TEXT NOT NULL);

-- Click ids begin with their time, so a time range is an id range: no
-- time index. Offer and affiliate come from the link, device, OS and
-- browser from the user agent, stored once.
CREATE TABLE user_agents (
    id BIGSERIAL PRIMARY KEY, ua TEXT NOT NULL UNIQUE,
    device TEXT NOT NULL, os TEXT NOT NULL, browser TEXT NOT NULL);
CREATE TABLE clicks (
    id BYTEA PRIMARY KEY, ts_ms BIGINT NOT NULL, link_id TEXT NOT NULL,
    sub1 TEXT, sub2 TEXT, sub3 TEXT, sub4 TEXT, sub5 TEXT, source TEXT, extra TEXT,
    ip TEXT NOT NULL, country TEXT NOT NULL, ua_id BIGINT NOT NULL, referer_host TEXT NOT NULL,
    is_unique BOOLEAN NOT NULL, is_bot BOOLEAN NOT NULL, suspicious BOOLEAN NOT NULL, test BOOLEAN NOT NULL,
    params_cut INTEGER);

CREATE TABLE conversions (
    id TEXT PRIMARY KEY, click_id BYTEA NOT NULL, offer_id TEXT NOT NULL,
    advertiser_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, link_id TEXT NOT NULL,
    event TEXT NOT NULL, txid TEXT,
    -- TRUE for an event that counts once per click, NULL for a repeatable
    -- one: the unique index on (click_id, event, once) is the rule
    once BOOLEAN,
    status TEXT NOT NULL, status_received TEXT,
    amount_micros BIGINT, currency TEXT NOT NULL,
    payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, payout_currency TEXT NOT NULL,
    click_ms BIGINT NOT NULL, conv_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL,
    too_fast BOOLEAN NOT NULL, test BOOLEAN NOT NULL, capped BOOLEAN NOT NULL, parent_id TEXT,
    payout_base_micros BIGINT, revenue_base_micros BIGINT, fx_missing BOOLEAN NOT NULL,
    hold_until_ms BIGINT, duplicates BIGINT NOT NULL,
    source TEXT, sub1 TEXT, sub2 TEXT, sub3 TEXT, sub4 TEXT, sub5 TEXT,
    country TEXT NOT NULL, device TEXT NOT NULL, os TEXT NOT NULL, browser TEXT NOT NULL);
CREATE UNIQUE INDEX conversions_txid ON conversions (offer_id, event, txid) WHERE txid IS NOT NULL;
CREATE UNIQUE INDEX conversions_click_once ON conversions (click_id, event, once);
CREATE INDEX conversions_parent ON conversions (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX conversions_hold ON conversions (hold_until_ms) WHERE hold_until_ms IS NOT NULL;
CREATE INDEX conversions_offer_time ON conversions (offer_id, conv_ms);
CREATE INDEX conversions_time ON conversions (conv_ms);

CREATE TABLE ledger (
    id BIGSERIAL PRIMARY KEY, affiliate_id TEXT NOT NULL, ts_ms BIGINT NOT NULL, kind TEXT NOT NULL,
    amount_micros BIGINT NOT NULL, currency TEXT NOT NULL, amount_base_micros BIGINT,
    conversion_id TEXT, reason TEXT);
CREATE INDEX ledger_affiliate ON ledger (affiliate_id, ts_ms);
CREATE TABLE fx_rates (currency TEXT NOT NULL, date TEXT NOT NULL, rate TEXT NOT NULL, PRIMARY KEY (currency, date));

CREATE TABLE postback_log (
    id BIGSERIAL PRIMARY KEY, ts_ms BIGINT NOT NULL, source_ip TEXT NOT NULL,
    method TEXT NOT NULL, advertiser_id TEXT, offer_id TEXT, click_id TEXT, fields TEXT NOT NULL,
    result TEXT NOT NULL, error TEXT, message TEXT NOT NULL, hint TEXT, conversion_id TEXT,
    http_status INTEGER NOT NULL, pii_removed BOOLEAN NOT NULL, txid TEXT);
CREATE INDEX postback_log_time ON postback_log (ts_ms);

CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY, ts_ms BIGINT NOT NULL, key_id TEXT NOT NULL,
    action TEXT NOT NULL, entity_kind TEXT NOT NULL, entity_id TEXT NOT NULL,
    before TEXT, after TEXT);
CREATE INDEX audit_entity ON audit (entity_id);
CREATE TABLE template_versions (
    entity_kind TEXT NOT NULL, entity_id TEXT NOT NULL, version BIGINT NOT NULL,
    ts_ms BIGINT NOT NULL, key_id TEXT NOT NULL, template TEXT NOT NULL,
    PRIMARY KEY (entity_kind, entity_id, version));

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY, affiliate_id TEXT NOT NULL, conversion_id TEXT NOT NULL, status TEXT NOT NULL,
    method TEXT NOT NULL, url TEXT NOT NULL, body TEXT, state TEXT NOT NULL, attempts INTEGER NOT NULL,
    next_attempt_ms BIGINT NOT NULL, lease_until BIGINT NOT NULL, created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL, last_error TEXT, last_status INTEGER, leased_by TEXT);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_ms);
CREATE INDEX deliveries_affiliate ON deliveries (affiliate_id, created_ms);
CREATE TABLE delivery_attempts (
    id BIGSERIAL PRIMARY KEY, delivery_id TEXT NOT NULL, ts_ms BIGINT NOT NULL, url TEXT NOT NULL,
    status INTEGER, latency_ms BIGINT NOT NULL, response TEXT NOT NULL, error TEXT);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id);
CREATE TABLE destinations (
    affiliate_id TEXT PRIMARY KEY, consecutive_failures INTEGER NOT NULL, suspended BOOLEAN NOT NULL,
    reason TEXT, updated_ms BIGINT NOT NULL);

CREATE TABLE users (
    id TEXT PRIMARY KEY, email TEXT NOT NULL, password_hash TEXT NOT NULL,
    role TEXT NOT NULL, partner_id TEXT, created_ms BIGINT NOT NULL, disabled BOOLEAN NOT NULL DEFAULT FALSE);
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY, user_id TEXT, key_hash TEXT, csrf TEXT NOT NULL,
    created_ms BIGINT NOT NULL, last_seen_ms BIGINT NOT NULL);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, kind TEXT NOT NULL, created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL, used_ms BIGINT, created_by TEXT NOT NULL);

-- Click rollups: per shape a 15-minute (_q) and a UTC-day (_d) table.
-- Nodes fold their own batches in with `n = n + excluded.n`, never over
-- each other.
CREATE TABLE rollup_link_q (bucket_ms BIGINT NOT NULL, link_id TEXT NOT NULL, source TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, source));
CREATE TABLE rollup_link_d (LIKE rollup_link_q INCLUDING ALL);
CREATE TABLE rollup_geo_q (bucket_ms BIGINT NOT NULL, offer_id TEXT NOT NULL, country TEXT NOT NULL, device TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, country, device));
CREATE TABLE rollup_geo_d (LIKE rollup_geo_q INCLUDING ALL);
CREATE TABLE rollup_sub_q (bucket_ms BIGINT NOT NULL, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub1 TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, affiliate_id, sub1));
CREATE TABLE rollup_sub_d (LIKE rollup_sub_q INCLUDING ALL);
