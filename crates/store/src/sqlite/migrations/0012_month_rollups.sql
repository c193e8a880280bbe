-- Calendar-month rollups (UTC) for every shape, clicks and conversions:
-- a report over 90 days read thirteen week rows per key (500,000 rows by
-- link and country at 10 M clicks); months are three, and a month row
-- read whole is corrected by the day rows outside the report's range.
-- Filled from the day rows, which add up to them; kept current by every
-- write from then on, like the other grains. Generated once from the week
-- tables' definitions; frozen like every migration.
CREATE TABLE rollup_link_m (bucket_ms INTEGER NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, source TEXT NOT NULL, rule TEXT NOT NULL, target TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, offer_id, source, rule, target)) WITHOUT ROWID;
INSERT INTO rollup_link_m (bucket_ms, link_id, offer_id, source, rule, target, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, link_id, offer_id, source, rule, target, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_link_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_geo_m (bucket_ms INTEGER NOT NULL, offer_id TEXT NOT NULL, country TEXT NOT NULL, device TEXT NOT NULL, os TEXT NOT NULL, browser TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, country, device, os, browser)) WITHOUT ROWID;
INSERT INTO rollup_geo_m (bucket_ms, offer_id, country, device, os, browser, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, offer_id, country, device, os, browser, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_geo_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_sub_m (bucket_ms INTEGER NOT NULL, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub1 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, affiliate_id, sub1)) WITHOUT ROWID;
INSERT INTO rollup_sub_m (bucket_ms, offer_id, affiliate_id, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, offer_id, affiliate_id, sub1, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub_d GROUP BY 1, 2, 3, 4;
CREATE TABLE rollup_offer_m (bucket_ms INTEGER NOT NULL, offer_id TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id)) WITHOUT ROWID;
INSERT INTO rollup_offer_m (bucket_ms, offer_id, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, offer_id, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_offer_d GROUP BY 1, 2;
CREATE TABLE rollup_affiliate_m (bucket_ms INTEGER NOT NULL, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, affiliate_id)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_m (bucket_ms, offer_id, affiliate_id, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, offer_id, affiliate_id, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_d GROUP BY 1, 2, 3;
CREATE TABLE rollup_source_m (bucket_ms INTEGER NOT NULL, offer_id TEXT NOT NULL, source TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, source)) WITHOUT ROWID;
INSERT INTO rollup_source_m (bucket_ms, offer_id, source, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, offer_id, source, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_source_d GROUP BY 1, 2, 3;
CREATE TABLE rollup_sub1_m (bucket_ms INTEGER NOT NULL, offer_id TEXT NOT NULL, sub1 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, sub1)) WITHOUT ROWID;
INSERT INTO rollup_sub1_m (bucket_ms, offer_id, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, offer_id, sub1, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub1_d GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_link_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, source TEXT NOT NULL, rule TEXT NOT NULL, target TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, link_id, offer_id, source, rule, target, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_link_m (bucket_ms, basis, link_id, offer_id, source, rule, target, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, link_id, offer_id, source, rule, target, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_link_d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
CREATE TABLE conv_rollup_geo_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, offer_id TEXT NOT NULL, country TEXT NOT NULL, device TEXT NOT NULL, os TEXT NOT NULL, browser TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, offer_id, country, device, os, browser, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_geo_m (bucket_ms, basis, offer_id, country, device, os, browser, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, offer_id, country, device, os, browser, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_geo_d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
CREATE TABLE conv_rollup_sub_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub1 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, offer_id, affiliate_id, sub1, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_sub_m (bucket_ms, basis, offer_id, affiliate_id, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, offer_id, affiliate_id, sub1, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub_d GROUP BY 1, 2, 3, 4, 5, 6, 7;
CREATE TABLE conv_rollup_offer_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, offer_id TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, offer_id, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_offer_m (bucket_ms, basis, offer_id, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, offer_id, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_offer_d GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE conv_rollup_affiliate_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, offer_id, affiliate_id, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_m (bucket_ms, basis, offer_id, affiliate_id, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, offer_id, affiliate_id, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE conv_rollup_source_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, offer_id TEXT NOT NULL, source TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, offer_id, source, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_source_m (bucket_ms, basis, offer_id, source, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, offer_id, source, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_source_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE conv_rollup_sub1_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, offer_id TEXT NOT NULL, sub1 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, offer_id, sub1, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_sub1_m (bucket_ms, basis, offer_id, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, offer_id, sub1, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub1_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_link_offer_m (bucket_ms INTEGER NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, offer_id)) WITHOUT ROWID;
INSERT INTO rollup_link_offer_m (bucket_ms, link_id, offer_id, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, link_id, offer_id, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_link_offer_d GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_link_offer_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, link_id, offer_id, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_link_offer_m (bucket_ms, basis, link_id, offer_id, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, link_id, offer_id, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_link_offer_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_affiliate_sub1_m (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub1 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub1)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub1_m (bucket_ms, affiliate_id, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, affiliate_id, sub1, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_sub1_d GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_affiliate_sub1_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub1 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub1, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub1_m (bucket_ms, basis, affiliate_id, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, affiliate_id, sub1, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_sub1_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_sub2_m (bucket_ms INTEGER NOT NULL, sub2 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, sub2)) WITHOUT ROWID;
INSERT INTO rollup_sub2_m (bucket_ms, sub2, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, sub2, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub2_d GROUP BY 1, 2;
CREATE TABLE conv_rollup_sub2_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, sub2 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub2, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_sub2_m (bucket_ms, basis, sub2, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, sub2, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub2_d GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE rollup_sub3_m (bucket_ms INTEGER NOT NULL, sub3 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, sub3)) WITHOUT ROWID;
INSERT INTO rollup_sub3_m (bucket_ms, sub3, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, sub3, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub3_d GROUP BY 1, 2;
CREATE TABLE conv_rollup_sub3_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, sub3 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub3, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_sub3_m (bucket_ms, basis, sub3, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, sub3, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub3_d GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE rollup_sub4_m (bucket_ms INTEGER NOT NULL, sub4 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, sub4)) WITHOUT ROWID;
INSERT INTO rollup_sub4_m (bucket_ms, sub4, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, sub4, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub4_d GROUP BY 1, 2;
CREATE TABLE conv_rollup_sub4_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, sub4 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub4, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_sub4_m (bucket_ms, basis, sub4, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, sub4, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub4_d GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE rollup_sub5_m (bucket_ms INTEGER NOT NULL, sub5 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, sub5)) WITHOUT ROWID;
INSERT INTO rollup_sub5_m (bucket_ms, sub5, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, sub5, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub5_d GROUP BY 1, 2;
CREATE TABLE conv_rollup_sub5_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, sub5 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub5, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_sub5_m (bucket_ms, basis, sub5, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, sub5, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub5_d GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE rollup_link_country_m (bucket_ms INTEGER NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, country TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, offer_id, country)) WITHOUT ROWID;
INSERT INTO rollup_link_country_m (bucket_ms, link_id, offer_id, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, link_id, offer_id, country, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_link_country_d GROUP BY 1, 2, 3, 4;
CREATE TABLE conv_rollup_link_country_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, country TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, link_id, offer_id, country, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_link_country_m (bucket_ms, basis, link_id, offer_id, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, link_id, offer_id, country, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_link_country_d GROUP BY 1, 2, 3, 4, 5, 6, 7;
