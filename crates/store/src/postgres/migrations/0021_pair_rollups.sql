-- A rollup for each pair of report dimensions no other shape held, for
-- clicks and conversions: source x country, source x device, source x
-- sub1, sub1 x country and sub1 x device, keyed by the pair alone (they
-- serve unscoped reports by either or both). A report by any of those
-- pairs read every raw click in its range: 5-7 s over 10 M clicks.
-- Filled from the clicks and the conversions as recording fills them:
-- 15-minute rows from the raw rows; the day rows (UTC and each local day
-- kept in `local_days`), week and month rows summed from them, which add
-- up to them; conversions keep no 15-minute rows here (0015), so theirs
-- are dropped once summed. Generated once by a script; frozen like every
-- migration.
CREATE TABLE rollup_source_country_q (bucket_ms BIGINT NOT NULL, source TEXT NOT NULL, country TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, source, country));
INSERT INTO rollup_source_country_q (bucket_ms, source, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (r.ts_ms / 900000) * 900000, COALESCE(r.source, ''), r.country,
        COUNT(*), SUM(CASE WHEN r.is_unique THEN 1 ELSE 0 END), SUM(CASE WHEN r.is_bot THEN 1 ELSE 0 END), SUM(CASE WHEN r.suspicious THEN 1 ELSE 0 END)
    FROM clicks r JOIN links l ON l.id = r.link_id JOIN user_agents u ON u.id = r.ua_id
    WHERE r.test = FALSE GROUP BY 1, 2, 3;
CREATE TABLE rollup_source_country_d (bucket_ms BIGINT NOT NULL, source TEXT NOT NULL, country TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, source, country));
CREATE TABLE rollup_source_country_w (bucket_ms BIGINT NOT NULL, source TEXT NOT NULL, country TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, source, country));
CREATE TABLE rollup_source_country_m (bucket_ms BIGINT NOT NULL, source TEXT NOT NULL, country TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, source, country));
INSERT INTO rollup_source_country_d (bucket_ms, source, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (bucket_ms / 86400000) * 86400000, source, country, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_source_country_q GROUP BY 1, 2, 3;
INSERT INTO rollup_source_country_d (bucket_ms, source, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - p.phase_ms) / 86400000) * 86400000 + p.phase_ms, source, country, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_source_country_q CROSS JOIN local_days p GROUP BY 1, 2, 3;
INSERT INTO rollup_source_country_w (bucket_ms, source, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, source, country, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_source_country_q GROUP BY 1, 2, 3;
INSERT INTO rollup_source_country_m (bucket_ms, source, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, source, country, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_source_country_q GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_source_country_q (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, source TEXT NOT NULL, country TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, source, country, event, status));
INSERT INTO conv_rollup_source_country_q (bucket_ms, basis, source, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.click_ms / 900000) * 900000, 'click', COALESCE(c.source, ''), COALESCE(c.country, ''), c.event, c.status,
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 1 ELSE 0 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE c.duplicates END),
        SUM(CASE WHEN c.parent_id IS NOT NULL OR NOT c.capped THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.payout_base_micros ELSE 0 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.revenue_base_micros ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 <= 0 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 0 AND (c.conv_ms - c.click_ms) / 1000 <= 60 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 60 AND (c.conv_ms - c.click_ms) / 1000 <= 300 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 300 AND (c.conv_ms - c.click_ms) / 1000 <= 900 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 900 AND (c.conv_ms - c.click_ms) / 1000 <= 1800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1800 AND (c.conv_ms - c.click_ms) / 1000 <= 3600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 3600 AND (c.conv_ms - c.click_ms) / 1000 <= 7200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 7200 AND (c.conv_ms - c.click_ms) / 1000 <= 14400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 14400 AND (c.conv_ms - c.click_ms) / 1000 <= 21600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 21600 AND (c.conv_ms - c.click_ms) / 1000 <= 43200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 43200 AND (c.conv_ms - c.click_ms) / 1000 <= 86400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 86400 AND (c.conv_ms - c.click_ms) / 1000 <= 172800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 172800 AND (c.conv_ms - c.click_ms) / 1000 <= 259200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 259200 AND (c.conv_ms - c.click_ms) / 1000 <= 604800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 604800 AND (c.conv_ms - c.click_ms) / 1000 <= 1209600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1209600 AND (c.conv_ms - c.click_ms) / 1000 <= 2592000 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 2592000 THEN 1 ELSE 0 END)
    FROM conversions c WHERE c.test = FALSE GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_source_country_q (bucket_ms, basis, source, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.conv_ms / 900000) * 900000, 'conversion', COALESCE(c.source, ''), COALESCE(c.country, ''), c.event, c.status,
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 1 ELSE 0 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE c.duplicates END),
        SUM(CASE WHEN c.parent_id IS NOT NULL OR NOT c.capped THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.payout_base_micros ELSE 0 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.revenue_base_micros ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 <= 0 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 0 AND (c.conv_ms - c.click_ms) / 1000 <= 60 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 60 AND (c.conv_ms - c.click_ms) / 1000 <= 300 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 300 AND (c.conv_ms - c.click_ms) / 1000 <= 900 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 900 AND (c.conv_ms - c.click_ms) / 1000 <= 1800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1800 AND (c.conv_ms - c.click_ms) / 1000 <= 3600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 3600 AND (c.conv_ms - c.click_ms) / 1000 <= 7200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 7200 AND (c.conv_ms - c.click_ms) / 1000 <= 14400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 14400 AND (c.conv_ms - c.click_ms) / 1000 <= 21600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 21600 AND (c.conv_ms - c.click_ms) / 1000 <= 43200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 43200 AND (c.conv_ms - c.click_ms) / 1000 <= 86400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 86400 AND (c.conv_ms - c.click_ms) / 1000 <= 172800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 172800 AND (c.conv_ms - c.click_ms) / 1000 <= 259200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 259200 AND (c.conv_ms - c.click_ms) / 1000 <= 604800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 604800 AND (c.conv_ms - c.click_ms) / 1000 <= 1209600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1209600 AND (c.conv_ms - c.click_ms) / 1000 <= 2592000 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 2592000 THEN 1 ELSE 0 END)
    FROM conversions c WHERE c.test = FALSE GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE conv_rollup_source_country_d (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, source TEXT NOT NULL, country TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, source, country, event, status));
CREATE TABLE conv_rollup_source_country_w (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, source TEXT NOT NULL, country TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, source, country, event, status));
CREATE TABLE conv_rollup_source_country_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, source TEXT NOT NULL, country TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, source, country, event, status));
INSERT INTO conv_rollup_source_country_d (bucket_ms, basis, source, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (bucket_ms / 86400000) * 86400000, basis, source, country, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_source_country_q GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_source_country_d (bucket_ms, basis, source, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - p.phase_ms) / 86400000) * 86400000 + p.phase_ms, basis, source, country, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_source_country_q CROSS JOIN local_days p GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_source_country_w (bucket_ms, basis, source, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, basis, source, country, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_source_country_q GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_source_country_m (bucket_ms, basis, source, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, source, country, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_source_country_q GROUP BY 1, 2, 3, 4, 5, 6;
DROP TABLE conv_rollup_source_country_q;
CREATE TABLE rollup_source_device_q (bucket_ms BIGINT NOT NULL, source TEXT NOT NULL, device TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, source, device));
INSERT INTO rollup_source_device_q (bucket_ms, source, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (r.ts_ms / 900000) * 900000, COALESCE(r.source, ''), u.device,
        COUNT(*), SUM(CASE WHEN r.is_unique THEN 1 ELSE 0 END), SUM(CASE WHEN r.is_bot THEN 1 ELSE 0 END), SUM(CASE WHEN r.suspicious THEN 1 ELSE 0 END)
    FROM clicks r JOIN links l ON l.id = r.link_id JOIN user_agents u ON u.id = r.ua_id
    WHERE r.test = FALSE GROUP BY 1, 2, 3;
CREATE TABLE rollup_source_device_d (bucket_ms BIGINT NOT NULL, source TEXT NOT NULL, device TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, source, device));
CREATE TABLE rollup_source_device_w (bucket_ms BIGINT NOT NULL, source TEXT NOT NULL, device TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, source, device));
CREATE TABLE rollup_source_device_m (bucket_ms BIGINT NOT NULL, source TEXT NOT NULL, device TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, source, device));
INSERT INTO rollup_source_device_d (bucket_ms, source, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (bucket_ms / 86400000) * 86400000, source, device, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_source_device_q GROUP BY 1, 2, 3;
INSERT INTO rollup_source_device_d (bucket_ms, source, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - p.phase_ms) / 86400000) * 86400000 + p.phase_ms, source, device, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_source_device_q CROSS JOIN local_days p GROUP BY 1, 2, 3;
INSERT INTO rollup_source_device_w (bucket_ms, source, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, source, device, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_source_device_q GROUP BY 1, 2, 3;
INSERT INTO rollup_source_device_m (bucket_ms, source, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, source, device, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_source_device_q GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_source_device_q (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, source TEXT NOT NULL, device TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, source, device, event, status));
INSERT INTO conv_rollup_source_device_q (bucket_ms, basis, source, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.click_ms / 900000) * 900000, 'click', COALESCE(c.source, ''), COALESCE(c.device, ''), c.event, c.status,
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 1 ELSE 0 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE c.duplicates END),
        SUM(CASE WHEN c.parent_id IS NOT NULL OR NOT c.capped THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.payout_base_micros ELSE 0 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.revenue_base_micros ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 <= 0 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 0 AND (c.conv_ms - c.click_ms) / 1000 <= 60 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 60 AND (c.conv_ms - c.click_ms) / 1000 <= 300 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 300 AND (c.conv_ms - c.click_ms) / 1000 <= 900 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 900 AND (c.conv_ms - c.click_ms) / 1000 <= 1800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1800 AND (c.conv_ms - c.click_ms) / 1000 <= 3600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 3600 AND (c.conv_ms - c.click_ms) / 1000 <= 7200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 7200 AND (c.conv_ms - c.click_ms) / 1000 <= 14400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 14400 AND (c.conv_ms - c.click_ms) / 1000 <= 21600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 21600 AND (c.conv_ms - c.click_ms) / 1000 <= 43200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 43200 AND (c.conv_ms - c.click_ms) / 1000 <= 86400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 86400 AND (c.conv_ms - c.click_ms) / 1000 <= 172800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 172800 AND (c.conv_ms - c.click_ms) / 1000 <= 259200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 259200 AND (c.conv_ms - c.click_ms) / 1000 <= 604800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 604800 AND (c.conv_ms - c.click_ms) / 1000 <= 1209600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1209600 AND (c.conv_ms - c.click_ms) / 1000 <= 2592000 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 2592000 THEN 1 ELSE 0 END)
    FROM conversions c WHERE c.test = FALSE GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_source_device_q (bucket_ms, basis, source, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.conv_ms / 900000) * 900000, 'conversion', COALESCE(c.source, ''), COALESCE(c.device, ''), c.event, c.status,
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 1 ELSE 0 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE c.duplicates END),
        SUM(CASE WHEN c.parent_id IS NOT NULL OR NOT c.capped THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.payout_base_micros ELSE 0 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.revenue_base_micros ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 <= 0 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 0 AND (c.conv_ms - c.click_ms) / 1000 <= 60 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 60 AND (c.conv_ms - c.click_ms) / 1000 <= 300 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 300 AND (c.conv_ms - c.click_ms) / 1000 <= 900 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 900 AND (c.conv_ms - c.click_ms) / 1000 <= 1800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1800 AND (c.conv_ms - c.click_ms) / 1000 <= 3600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 3600 AND (c.conv_ms - c.click_ms) / 1000 <= 7200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 7200 AND (c.conv_ms - c.click_ms) / 1000 <= 14400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 14400 AND (c.conv_ms - c.click_ms) / 1000 <= 21600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 21600 AND (c.conv_ms - c.click_ms) / 1000 <= 43200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 43200 AND (c.conv_ms - c.click_ms) / 1000 <= 86400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 86400 AND (c.conv_ms - c.click_ms) / 1000 <= 172800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 172800 AND (c.conv_ms - c.click_ms) / 1000 <= 259200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 259200 AND (c.conv_ms - c.click_ms) / 1000 <= 604800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 604800 AND (c.conv_ms - c.click_ms) / 1000 <= 1209600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1209600 AND (c.conv_ms - c.click_ms) / 1000 <= 2592000 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 2592000 THEN 1 ELSE 0 END)
    FROM conversions c WHERE c.test = FALSE GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE conv_rollup_source_device_d (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, source TEXT NOT NULL, device TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, source, device, event, status));
CREATE TABLE conv_rollup_source_device_w (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, source TEXT NOT NULL, device TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, source, device, event, status));
CREATE TABLE conv_rollup_source_device_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, source TEXT NOT NULL, device TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, source, device, event, status));
INSERT INTO conv_rollup_source_device_d (bucket_ms, basis, source, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (bucket_ms / 86400000) * 86400000, basis, source, device, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_source_device_q GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_source_device_d (bucket_ms, basis, source, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - p.phase_ms) / 86400000) * 86400000 + p.phase_ms, basis, source, device, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_source_device_q CROSS JOIN local_days p GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_source_device_w (bucket_ms, basis, source, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, basis, source, device, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_source_device_q GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_source_device_m (bucket_ms, basis, source, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, source, device, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_source_device_q GROUP BY 1, 2, 3, 4, 5, 6;
DROP TABLE conv_rollup_source_device_q;
CREATE TABLE rollup_source_sub1_q (bucket_ms BIGINT NOT NULL, source TEXT NOT NULL, sub1 TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, source, sub1));
INSERT INTO rollup_source_sub1_q (bucket_ms, source, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (r.ts_ms / 900000) * 900000, COALESCE(r.source, ''), COALESCE(r.sub1, ''),
        COUNT(*), SUM(CASE WHEN r.is_unique THEN 1 ELSE 0 END), SUM(CASE WHEN r.is_bot THEN 1 ELSE 0 END), SUM(CASE WHEN r.suspicious THEN 1 ELSE 0 END)
    FROM clicks r JOIN links l ON l.id = r.link_id JOIN user_agents u ON u.id = r.ua_id
    WHERE r.test = FALSE GROUP BY 1, 2, 3;
CREATE TABLE rollup_source_sub1_d (bucket_ms BIGINT NOT NULL, source TEXT NOT NULL, sub1 TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, source, sub1));
CREATE TABLE rollup_source_sub1_w (bucket_ms BIGINT NOT NULL, source TEXT NOT NULL, sub1 TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, source, sub1));
CREATE TABLE rollup_source_sub1_m (bucket_ms BIGINT NOT NULL, source TEXT NOT NULL, sub1 TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, source, sub1));
INSERT INTO rollup_source_sub1_d (bucket_ms, source, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (bucket_ms / 86400000) * 86400000, source, sub1, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_source_sub1_q GROUP BY 1, 2, 3;
INSERT INTO rollup_source_sub1_d (bucket_ms, source, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - p.phase_ms) / 86400000) * 86400000 + p.phase_ms, source, sub1, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_source_sub1_q CROSS JOIN local_days p GROUP BY 1, 2, 3;
INSERT INTO rollup_source_sub1_w (bucket_ms, source, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, source, sub1, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_source_sub1_q GROUP BY 1, 2, 3;
INSERT INTO rollup_source_sub1_m (bucket_ms, source, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, source, sub1, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_source_sub1_q GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_source_sub1_q (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, source TEXT NOT NULL, sub1 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, source, sub1, event, status));
INSERT INTO conv_rollup_source_sub1_q (bucket_ms, basis, source, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.click_ms / 900000) * 900000, 'click', COALESCE(c.source, ''), COALESCE(c.sub1, ''), c.event, c.status,
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 1 ELSE 0 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE c.duplicates END),
        SUM(CASE WHEN c.parent_id IS NOT NULL OR NOT c.capped THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.payout_base_micros ELSE 0 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.revenue_base_micros ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 <= 0 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 0 AND (c.conv_ms - c.click_ms) / 1000 <= 60 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 60 AND (c.conv_ms - c.click_ms) / 1000 <= 300 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 300 AND (c.conv_ms - c.click_ms) / 1000 <= 900 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 900 AND (c.conv_ms - c.click_ms) / 1000 <= 1800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1800 AND (c.conv_ms - c.click_ms) / 1000 <= 3600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 3600 AND (c.conv_ms - c.click_ms) / 1000 <= 7200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 7200 AND (c.conv_ms - c.click_ms) / 1000 <= 14400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 14400 AND (c.conv_ms - c.click_ms) / 1000 <= 21600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 21600 AND (c.conv_ms - c.click_ms) / 1000 <= 43200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 43200 AND (c.conv_ms - c.click_ms) / 1000 <= 86400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 86400 AND (c.conv_ms - c.click_ms) / 1000 <= 172800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 172800 AND (c.conv_ms - c.click_ms) / 1000 <= 259200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 259200 AND (c.conv_ms - c.click_ms) / 1000 <= 604800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 604800 AND (c.conv_ms - c.click_ms) / 1000 <= 1209600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1209600 AND (c.conv_ms - c.click_ms) / 1000 <= 2592000 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 2592000 THEN 1 ELSE 0 END)
    FROM conversions c WHERE c.test = FALSE GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_source_sub1_q (bucket_ms, basis, source, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.conv_ms / 900000) * 900000, 'conversion', COALESCE(c.source, ''), COALESCE(c.sub1, ''), c.event, c.status,
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 1 ELSE 0 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE c.duplicates END),
        SUM(CASE WHEN c.parent_id IS NOT NULL OR NOT c.capped THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.payout_base_micros ELSE 0 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.revenue_base_micros ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 <= 0 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 0 AND (c.conv_ms - c.click_ms) / 1000 <= 60 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 60 AND (c.conv_ms - c.click_ms) / 1000 <= 300 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 300 AND (c.conv_ms - c.click_ms) / 1000 <= 900 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 900 AND (c.conv_ms - c.click_ms) / 1000 <= 1800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1800 AND (c.conv_ms - c.click_ms) / 1000 <= 3600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 3600 AND (c.conv_ms - c.click_ms) / 1000 <= 7200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 7200 AND (c.conv_ms - c.click_ms) / 1000 <= 14400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 14400 AND (c.conv_ms - c.click_ms) / 1000 <= 21600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 21600 AND (c.conv_ms - c.click_ms) / 1000 <= 43200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 43200 AND (c.conv_ms - c.click_ms) / 1000 <= 86400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 86400 AND (c.conv_ms - c.click_ms) / 1000 <= 172800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 172800 AND (c.conv_ms - c.click_ms) / 1000 <= 259200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 259200 AND (c.conv_ms - c.click_ms) / 1000 <= 604800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 604800 AND (c.conv_ms - c.click_ms) / 1000 <= 1209600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1209600 AND (c.conv_ms - c.click_ms) / 1000 <= 2592000 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 2592000 THEN 1 ELSE 0 END)
    FROM conversions c WHERE c.test = FALSE GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE conv_rollup_source_sub1_d (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, source TEXT NOT NULL, sub1 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, source, sub1, event, status));
CREATE TABLE conv_rollup_source_sub1_w (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, source TEXT NOT NULL, sub1 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, source, sub1, event, status));
CREATE TABLE conv_rollup_source_sub1_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, source TEXT NOT NULL, sub1 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, source, sub1, event, status));
INSERT INTO conv_rollup_source_sub1_d (bucket_ms, basis, source, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (bucket_ms / 86400000) * 86400000, basis, source, sub1, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_source_sub1_q GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_source_sub1_d (bucket_ms, basis, source, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - p.phase_ms) / 86400000) * 86400000 + p.phase_ms, basis, source, sub1, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_source_sub1_q CROSS JOIN local_days p GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_source_sub1_w (bucket_ms, basis, source, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, basis, source, sub1, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_source_sub1_q GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_source_sub1_m (bucket_ms, basis, source, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, source, sub1, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_source_sub1_q GROUP BY 1, 2, 3, 4, 5, 6;
DROP TABLE conv_rollup_source_sub1_q;
CREATE TABLE rollup_sub1_country_q (bucket_ms BIGINT NOT NULL, sub1 TEXT NOT NULL, country TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, sub1, country));
INSERT INTO rollup_sub1_country_q (bucket_ms, sub1, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (r.ts_ms / 900000) * 900000, COALESCE(r.sub1, ''), r.country,
        COUNT(*), SUM(CASE WHEN r.is_unique THEN 1 ELSE 0 END), SUM(CASE WHEN r.is_bot THEN 1 ELSE 0 END), SUM(CASE WHEN r.suspicious THEN 1 ELSE 0 END)
    FROM clicks r JOIN links l ON l.id = r.link_id JOIN user_agents u ON u.id = r.ua_id
    WHERE r.test = FALSE GROUP BY 1, 2, 3;
CREATE TABLE rollup_sub1_country_d (bucket_ms BIGINT NOT NULL, sub1 TEXT NOT NULL, country TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, sub1, country));
CREATE TABLE rollup_sub1_country_w (bucket_ms BIGINT NOT NULL, sub1 TEXT NOT NULL, country TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, sub1, country));
CREATE TABLE rollup_sub1_country_m (bucket_ms BIGINT NOT NULL, sub1 TEXT NOT NULL, country TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, sub1, country));
INSERT INTO rollup_sub1_country_d (bucket_ms, sub1, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (bucket_ms / 86400000) * 86400000, sub1, country, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub1_country_q GROUP BY 1, 2, 3;
INSERT INTO rollup_sub1_country_d (bucket_ms, sub1, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - p.phase_ms) / 86400000) * 86400000 + p.phase_ms, sub1, country, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub1_country_q CROSS JOIN local_days p GROUP BY 1, 2, 3;
INSERT INTO rollup_sub1_country_w (bucket_ms, sub1, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, sub1, country, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub1_country_q GROUP BY 1, 2, 3;
INSERT INTO rollup_sub1_country_m (bucket_ms, sub1, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, sub1, country, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub1_country_q GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_sub1_country_q (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, sub1 TEXT NOT NULL, country TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub1, country, event, status));
INSERT INTO conv_rollup_sub1_country_q (bucket_ms, basis, sub1, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.click_ms / 900000) * 900000, 'click', COALESCE(c.sub1, ''), COALESCE(c.country, ''), c.event, c.status,
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 1 ELSE 0 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE c.duplicates END),
        SUM(CASE WHEN c.parent_id IS NOT NULL OR NOT c.capped THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.payout_base_micros ELSE 0 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.revenue_base_micros ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 <= 0 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 0 AND (c.conv_ms - c.click_ms) / 1000 <= 60 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 60 AND (c.conv_ms - c.click_ms) / 1000 <= 300 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 300 AND (c.conv_ms - c.click_ms) / 1000 <= 900 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 900 AND (c.conv_ms - c.click_ms) / 1000 <= 1800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1800 AND (c.conv_ms - c.click_ms) / 1000 <= 3600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 3600 AND (c.conv_ms - c.click_ms) / 1000 <= 7200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 7200 AND (c.conv_ms - c.click_ms) / 1000 <= 14400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 14400 AND (c.conv_ms - c.click_ms) / 1000 <= 21600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 21600 AND (c.conv_ms - c.click_ms) / 1000 <= 43200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 43200 AND (c.conv_ms - c.click_ms) / 1000 <= 86400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 86400 AND (c.conv_ms - c.click_ms) / 1000 <= 172800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 172800 AND (c.conv_ms - c.click_ms) / 1000 <= 259200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 259200 AND (c.conv_ms - c.click_ms) / 1000 <= 604800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 604800 AND (c.conv_ms - c.click_ms) / 1000 <= 1209600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1209600 AND (c.conv_ms - c.click_ms) / 1000 <= 2592000 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 2592000 THEN 1 ELSE 0 END)
    FROM conversions c WHERE c.test = FALSE GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_sub1_country_q (bucket_ms, basis, sub1, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.conv_ms / 900000) * 900000, 'conversion', COALESCE(c.sub1, ''), COALESCE(c.country, ''), c.event, c.status,
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 1 ELSE 0 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE c.duplicates END),
        SUM(CASE WHEN c.parent_id IS NOT NULL OR NOT c.capped THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.payout_base_micros ELSE 0 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.revenue_base_micros ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 <= 0 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 0 AND (c.conv_ms - c.click_ms) / 1000 <= 60 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 60 AND (c.conv_ms - c.click_ms) / 1000 <= 300 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 300 AND (c.conv_ms - c.click_ms) / 1000 <= 900 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 900 AND (c.conv_ms - c.click_ms) / 1000 <= 1800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1800 AND (c.conv_ms - c.click_ms) / 1000 <= 3600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 3600 AND (c.conv_ms - c.click_ms) / 1000 <= 7200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 7200 AND (c.conv_ms - c.click_ms) / 1000 <= 14400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 14400 AND (c.conv_ms - c.click_ms) / 1000 <= 21600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 21600 AND (c.conv_ms - c.click_ms) / 1000 <= 43200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 43200 AND (c.conv_ms - c.click_ms) / 1000 <= 86400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 86400 AND (c.conv_ms - c.click_ms) / 1000 <= 172800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 172800 AND (c.conv_ms - c.click_ms) / 1000 <= 259200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 259200 AND (c.conv_ms - c.click_ms) / 1000 <= 604800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 604800 AND (c.conv_ms - c.click_ms) / 1000 <= 1209600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1209600 AND (c.conv_ms - c.click_ms) / 1000 <= 2592000 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 2592000 THEN 1 ELSE 0 END)
    FROM conversions c WHERE c.test = FALSE GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE conv_rollup_sub1_country_d (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, sub1 TEXT NOT NULL, country TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub1, country, event, status));
CREATE TABLE conv_rollup_sub1_country_w (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, sub1 TEXT NOT NULL, country TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub1, country, event, status));
CREATE TABLE conv_rollup_sub1_country_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, sub1 TEXT NOT NULL, country TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub1, country, event, status));
INSERT INTO conv_rollup_sub1_country_d (bucket_ms, basis, sub1, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (bucket_ms / 86400000) * 86400000, basis, sub1, country, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub1_country_q GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_sub1_country_d (bucket_ms, basis, sub1, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - p.phase_ms) / 86400000) * 86400000 + p.phase_ms, basis, sub1, country, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub1_country_q CROSS JOIN local_days p GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_sub1_country_w (bucket_ms, basis, sub1, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, basis, sub1, country, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub1_country_q GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_sub1_country_m (bucket_ms, basis, sub1, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, sub1, country, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub1_country_q GROUP BY 1, 2, 3, 4, 5, 6;
DROP TABLE conv_rollup_sub1_country_q;
CREATE TABLE rollup_sub1_device_q (bucket_ms BIGINT NOT NULL, sub1 TEXT NOT NULL, device TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, sub1, device));
INSERT INTO rollup_sub1_device_q (bucket_ms, sub1, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (r.ts_ms / 900000) * 900000, COALESCE(r.sub1, ''), u.device,
        COUNT(*), SUM(CASE WHEN r.is_unique THEN 1 ELSE 0 END), SUM(CASE WHEN r.is_bot THEN 1 ELSE 0 END), SUM(CASE WHEN r.suspicious THEN 1 ELSE 0 END)
    FROM clicks r JOIN links l ON l.id = r.link_id JOIN user_agents u ON u.id = r.ua_id
    WHERE r.test = FALSE GROUP BY 1, 2, 3;
CREATE TABLE rollup_sub1_device_d (bucket_ms BIGINT NOT NULL, sub1 TEXT NOT NULL, device TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, sub1, device));
CREATE TABLE rollup_sub1_device_w (bucket_ms BIGINT NOT NULL, sub1 TEXT NOT NULL, device TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, sub1, device));
CREATE TABLE rollup_sub1_device_m (bucket_ms BIGINT NOT NULL, sub1 TEXT NOT NULL, device TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, sub1, device));
INSERT INTO rollup_sub1_device_d (bucket_ms, sub1, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (bucket_ms / 86400000) * 86400000, sub1, device, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub1_device_q GROUP BY 1, 2, 3;
INSERT INTO rollup_sub1_device_d (bucket_ms, sub1, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - p.phase_ms) / 86400000) * 86400000 + p.phase_ms, sub1, device, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub1_device_q CROSS JOIN local_days p GROUP BY 1, 2, 3;
INSERT INTO rollup_sub1_device_w (bucket_ms, sub1, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, sub1, device, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub1_device_q GROUP BY 1, 2, 3;
INSERT INTO rollup_sub1_device_m (bucket_ms, sub1, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, sub1, device, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub1_device_q GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_sub1_device_q (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, sub1 TEXT NOT NULL, device TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub1, device, event, status));
INSERT INTO conv_rollup_sub1_device_q (bucket_ms, basis, sub1, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.click_ms / 900000) * 900000, 'click', COALESCE(c.sub1, ''), COALESCE(c.device, ''), c.event, c.status,
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 1 ELSE 0 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE c.duplicates END),
        SUM(CASE WHEN c.parent_id IS NOT NULL OR NOT c.capped THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.payout_base_micros ELSE 0 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.revenue_base_micros ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 <= 0 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 0 AND (c.conv_ms - c.click_ms) / 1000 <= 60 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 60 AND (c.conv_ms - c.click_ms) / 1000 <= 300 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 300 AND (c.conv_ms - c.click_ms) / 1000 <= 900 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 900 AND (c.conv_ms - c.click_ms) / 1000 <= 1800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1800 AND (c.conv_ms - c.click_ms) / 1000 <= 3600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 3600 AND (c.conv_ms - c.click_ms) / 1000 <= 7200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 7200 AND (c.conv_ms - c.click_ms) / 1000 <= 14400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 14400 AND (c.conv_ms - c.click_ms) / 1000 <= 21600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 21600 AND (c.conv_ms - c.click_ms) / 1000 <= 43200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 43200 AND (c.conv_ms - c.click_ms) / 1000 <= 86400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 86400 AND (c.conv_ms - c.click_ms) / 1000 <= 172800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 172800 AND (c.conv_ms - c.click_ms) / 1000 <= 259200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 259200 AND (c.conv_ms - c.click_ms) / 1000 <= 604800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 604800 AND (c.conv_ms - c.click_ms) / 1000 <= 1209600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1209600 AND (c.conv_ms - c.click_ms) / 1000 <= 2592000 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 2592000 THEN 1 ELSE 0 END)
    FROM conversions c WHERE c.test = FALSE GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_sub1_device_q (bucket_ms, basis, sub1, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.conv_ms / 900000) * 900000, 'conversion', COALESCE(c.sub1, ''), COALESCE(c.device, ''), c.event, c.status,
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 1 ELSE 0 END),
        SUM(CASE WHEN c.parent_id IS NOT NULL THEN 0 ELSE c.duplicates END),
        SUM(CASE WHEN c.parent_id IS NOT NULL OR NOT c.capped THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN 0 ELSE 1 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.payout_base_micros ELSE 0 END),
        SUM(CASE WHEN c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL THEN c.revenue_base_micros ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 <= 0 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 0 AND (c.conv_ms - c.click_ms) / 1000 <= 60 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 60 AND (c.conv_ms - c.click_ms) / 1000 <= 300 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 300 AND (c.conv_ms - c.click_ms) / 1000 <= 900 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 900 AND (c.conv_ms - c.click_ms) / 1000 <= 1800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1800 AND (c.conv_ms - c.click_ms) / 1000 <= 3600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 3600 AND (c.conv_ms - c.click_ms) / 1000 <= 7200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 7200 AND (c.conv_ms - c.click_ms) / 1000 <= 14400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 14400 AND (c.conv_ms - c.click_ms) / 1000 <= 21600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 21600 AND (c.conv_ms - c.click_ms) / 1000 <= 43200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 43200 AND (c.conv_ms - c.click_ms) / 1000 <= 86400 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 86400 AND (c.conv_ms - c.click_ms) / 1000 <= 172800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 172800 AND (c.conv_ms - c.click_ms) / 1000 <= 259200 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 259200 AND (c.conv_ms - c.click_ms) / 1000 <= 604800 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 604800 AND (c.conv_ms - c.click_ms) / 1000 <= 1209600 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 1209600 AND (c.conv_ms - c.click_ms) / 1000 <= 2592000 THEN 1 ELSE 0 END),
        SUM(CASE WHEN NOT (c.parent_id IS NOT NULL) AND (c.conv_ms - c.click_ms) / 1000 > 2592000 THEN 1 ELSE 0 END)
    FROM conversions c WHERE c.test = FALSE GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE conv_rollup_sub1_device_d (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, sub1 TEXT NOT NULL, device TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub1, device, event, status));
CREATE TABLE conv_rollup_sub1_device_w (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, sub1 TEXT NOT NULL, device TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub1, device, event, status));
CREATE TABLE conv_rollup_sub1_device_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, sub1 TEXT NOT NULL, device TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub1, device, event, status));
INSERT INTO conv_rollup_sub1_device_d (bucket_ms, basis, sub1, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (bucket_ms / 86400000) * 86400000, basis, sub1, device, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub1_device_q GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_sub1_device_d (bucket_ms, basis, sub1, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - p.phase_ms) / 86400000) * 86400000 + p.phase_ms, basis, sub1, device, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub1_device_q CROSS JOIN local_days p GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_sub1_device_w (bucket_ms, basis, sub1, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, basis, sub1, device, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub1_device_q GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO conv_rollup_sub1_device_m (bucket_ms, basis, sub1, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, sub1, device, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub1_device_q GROUP BY 1, 2, 3, 4, 5, 6;
DROP TABLE conv_rollup_sub1_device_q;
