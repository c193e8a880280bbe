-- Calendar-month rollups (UTC) for every shape, clicks and conversions:
-- a report over 90 days read thirteen week rows per key (500,000 rows by
-- link and country at 10 M clicks); months are three, and a month row
-- read whole is corrected by the day rows outside the report's range.
-- Filled from the day rows, which add up to them; kept current by every
-- write from then on, like the other grains. Generated once from the week
-- tables' definitions; frozen like every migration.
CREATE TABLE rollup_link_m (bucket_ms BIGINT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, source TEXT NOT NULL, rule TEXT NOT NULL, target TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, offer_id, source, rule, target));
INSERT INTO rollup_link_m (bucket_ms, link_id, offer_id, source, rule, target, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, link_id, offer_id, source, rule, target, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_link_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_geo_m (bucket_ms BIGINT NOT NULL, offer_id TEXT NOT NULL, country TEXT NOT NULL, device TEXT NOT NULL, os TEXT NOT NULL, browser TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, country, device, os, browser));
INSERT INTO rollup_geo_m (bucket_ms, offer_id, country, device, os, browser, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, offer_id, country, device, os, browser, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_geo_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_sub_m (bucket_ms BIGINT NOT NULL, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub1 TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, affiliate_id, sub1));
INSERT INTO rollup_sub_m (bucket_ms, offer_id, affiliate_id, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, offer_id, affiliate_id, sub1, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub_d GROUP BY 1, 2, 3, 4;
CREATE TABLE rollup_offer_m (bucket_ms BIGINT NOT NULL, offer_id TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id));
INSERT INTO rollup_offer_m (bucket_ms, offer_id, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, offer_id, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_offer_d GROUP BY 1, 2;
CREATE TABLE rollup_affiliate_m (bucket_ms BIGINT NOT NULL, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, affiliate_id));
INSERT INTO rollup_affiliate_m (bucket_ms, offer_id, affiliate_id, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, offer_id, affiliate_id, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_d GROUP BY 1, 2, 3;
CREATE TABLE rollup_source_m (bucket_ms BIGINT NOT NULL, offer_id TEXT NOT NULL, source TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, source));
INSERT INTO rollup_source_m (bucket_ms, offer_id, source, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, offer_id, source, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_source_d GROUP BY 1, 2, 3;
CREATE TABLE rollup_sub1_m (bucket_ms BIGINT NOT NULL, offer_id TEXT NOT NULL, sub1 TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, offer_id, sub1));
INSERT INTO rollup_sub1_m (bucket_ms, offer_id, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, offer_id, sub1, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub1_d GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_link_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, source TEXT NOT NULL, rule TEXT NOT NULL, target TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, link_id, offer_id, source, rule, target, event, status));
INSERT INTO conv_rollup_link_m (bucket_ms, basis, link_id, offer_id, source, rule, target, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, link_id, offer_id, source, rule, target, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_link_d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
CREATE TABLE conv_rollup_geo_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, offer_id TEXT NOT NULL, country TEXT NOT NULL, device TEXT NOT NULL, os TEXT NOT NULL, browser TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, offer_id, country, device, os, browser, event, status));
INSERT INTO conv_rollup_geo_m (bucket_ms, basis, offer_id, country, device, os, browser, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, offer_id, country, device, os, browser, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_geo_d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
CREATE TABLE conv_rollup_sub_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub1 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, offer_id, affiliate_id, sub1, event, status));
INSERT INTO conv_rollup_sub_m (bucket_ms, basis, offer_id, affiliate_id, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, offer_id, affiliate_id, sub1, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub_d GROUP BY 1, 2, 3, 4, 5, 6, 7;
CREATE TABLE conv_rollup_offer_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, offer_id TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, offer_id, event, status));
INSERT INTO conv_rollup_offer_m (bucket_ms, basis, offer_id, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, offer_id, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_offer_d GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE conv_rollup_affiliate_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, offer_id, affiliate_id, event, status));
INSERT INTO conv_rollup_affiliate_m (bucket_ms, basis, offer_id, affiliate_id, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, offer_id, affiliate_id, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE conv_rollup_source_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, offer_id TEXT NOT NULL, source TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, offer_id, source, event, status));
INSERT INTO conv_rollup_source_m (bucket_ms, basis, offer_id, source, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, offer_id, source, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_source_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE conv_rollup_sub1_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, offer_id TEXT NOT NULL, sub1 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, offer_id, sub1, event, status));
INSERT INTO conv_rollup_sub1_m (bucket_ms, basis, offer_id, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, offer_id, sub1, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub1_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_link_offer_m (bucket_ms BIGINT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, offer_id));
INSERT INTO rollup_link_offer_m (bucket_ms, link_id, offer_id, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, link_id, offer_id, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_link_offer_d GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_link_offer_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, link_id, offer_id, event, status));
INSERT INTO conv_rollup_link_offer_m (bucket_ms, basis, link_id, offer_id, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, link_id, offer_id, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_link_offer_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_affiliate_sub1_m (bucket_ms BIGINT NOT NULL, affiliate_id TEXT NOT NULL, sub1 TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub1));
INSERT INTO rollup_affiliate_sub1_m (bucket_ms, affiliate_id, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, affiliate_id, sub1, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_sub1_d GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_affiliate_sub1_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub1 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub1, event, status));
INSERT INTO conv_rollup_affiliate_sub1_m (bucket_ms, basis, affiliate_id, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, affiliate_id, sub1, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_sub1_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_sub2_m (bucket_ms BIGINT NOT NULL, sub2 TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, sub2));
INSERT INTO rollup_sub2_m (bucket_ms, sub2, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, sub2, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub2_d GROUP BY 1, 2;
CREATE TABLE conv_rollup_sub2_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, sub2 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub2, event, status));
INSERT INTO conv_rollup_sub2_m (bucket_ms, basis, sub2, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, sub2, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub2_d GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE rollup_sub3_m (bucket_ms BIGINT NOT NULL, sub3 TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, sub3));
INSERT INTO rollup_sub3_m (bucket_ms, sub3, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, sub3, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub3_d GROUP BY 1, 2;
CREATE TABLE conv_rollup_sub3_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, sub3 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub3, event, status));
INSERT INTO conv_rollup_sub3_m (bucket_ms, basis, sub3, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, sub3, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub3_d GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE rollup_sub4_m (bucket_ms BIGINT NOT NULL, sub4 TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, sub4));
INSERT INTO rollup_sub4_m (bucket_ms, sub4, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, sub4, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub4_d GROUP BY 1, 2;
CREATE TABLE conv_rollup_sub4_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, sub4 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub4, event, status));
INSERT INTO conv_rollup_sub4_m (bucket_ms, basis, sub4, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, sub4, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub4_d GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE rollup_sub5_m (bucket_ms BIGINT NOT NULL, sub5 TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, sub5));
INSERT INTO rollup_sub5_m (bucket_ms, sub5, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, sub5, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub5_d GROUP BY 1, 2;
CREATE TABLE conv_rollup_sub5_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, sub5 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub5, event, status));
INSERT INTO conv_rollup_sub5_m (bucket_ms, basis, sub5, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, sub5, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub5_d GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE rollup_link_country_m (bucket_ms BIGINT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, country TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, offer_id, country));
INSERT INTO rollup_link_country_m (bucket_ms, link_id, offer_id, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, link_id, offer_id, country, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_link_country_d GROUP BY 1, 2, 3, 4;
CREATE TABLE conv_rollup_link_country_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, country TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, link_id, offer_id, country, event, status));
INSERT INTO conv_rollup_link_country_m (bucket_ms, basis, link_id, offer_id, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, link_id, offer_id, country, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_link_country_d GROUP BY 1, 2, 3, 4, 5, 6, 7;
