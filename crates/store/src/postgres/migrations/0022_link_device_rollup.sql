-- A rollup by link and device (with the offer, as the link x country
-- rollup), for clicks and conversions. A report by link and device read
-- every raw click in its range: 7.6-8.6 s over 10 M clicks. It was left
-- out of the pair rollups because its thousands of keys a second, each
-- upserted at four grains every second, cost a quarter of the durable
-- redirects on SQLite; its click writer now keeps its sums under
-- numbered keys and folds every 10 s (docs/BENCHMARKS.md has the
-- figures). Here a node still folds every second; the numbered keys
-- pay for the shape (measured one node, not at 10 M).
-- Filled from the clicks and the conversions as recording fills them:
-- 15-minute rows from the raw rows; the day rows (UTC and each local day
-- kept in `local_days`), week and month rows summed from them;
-- conversions keep no 15-minute rows (0015), so theirs are dropped once
-- summed. Clicks of a generation not yet folded (`rollups_pending`) are
-- left out: their node's fold, or the repair of a node that died, adds
-- them to every rollup, this one included. Generated once by a script;
-- frozen like every migration.
CREATE TABLE rollup_link_device_q (bucket_ms BIGINT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, device TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, offer_id, device));
INSERT INTO rollup_link_device_q (bucket_ms, link_id, offer_id, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (r.ts_ms / 900000) * 900000, r.link_id, COALESCE(r.offer_id, l.offer_id), u.device,
        COUNT(*), SUM(CASE WHEN r.is_unique THEN 1 ELSE 0 END), SUM(CASE WHEN r.is_bot THEN 1 ELSE 0 END), SUM(CASE WHEN r.suspicious THEN 1 ELSE 0 END)
    FROM clicks r JOIN links l ON l.id = r.link_id JOIN user_agents u ON u.id = r.ua_id
    WHERE r.test = FALSE AND (r.fold IS NULL OR r.fold NOT IN (SELECT tag FROM rollups_pending))
    GROUP BY 1, 2, 3, 4;
CREATE TABLE rollup_link_device_d (bucket_ms BIGINT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, device TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, offer_id, device));
CREATE TABLE rollup_link_device_w (bucket_ms BIGINT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, device TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, offer_id, device));
CREATE TABLE rollup_link_device_m (bucket_ms BIGINT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, device TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, link_id, offer_id, device));
INSERT INTO rollup_link_device_d (bucket_ms, link_id, offer_id, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (bucket_ms / 86400000) * 86400000, link_id, offer_id, device, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_link_device_q GROUP BY 1, 2, 3, 4;
INSERT INTO rollup_link_device_d (bucket_ms, link_id, offer_id, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - p.phase_ms) / 86400000) * 86400000 + p.phase_ms, link_id, offer_id, device, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_link_device_q CROSS JOIN local_days p GROUP BY 1, 2, 3, 4;
INSERT INTO rollup_link_device_w (bucket_ms, link_id, offer_id, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, link_id, offer_id, device, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_link_device_q GROUP BY 1, 2, 3, 4;
INSERT INTO rollup_link_device_m (bucket_ms, link_id, offer_id, device, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, link_id, offer_id, device, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_link_device_q GROUP BY 1, 2, 3, 4;
CREATE TABLE conv_rollup_link_device_q (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, device TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, link_id, offer_id, device, event, status));
INSERT INTO conv_rollup_link_device_q (bucket_ms, basis, link_id, offer_id, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.click_ms / 900000) * 900000, 'click', c.link_id, c.offer_id, COALESCE(c.device, ''), c.event, c.status,
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
    FROM conversions c WHERE c.test = FALSE GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO conv_rollup_link_device_q (bucket_ms, basis, link_id, offer_id, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.conv_ms / 900000) * 900000, 'conversion', c.link_id, c.offer_id, COALESCE(c.device, ''), c.event, c.status,
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
    FROM conversions c WHERE c.test = FALSE GROUP BY 1, 2, 3, 4, 5, 6, 7;
CREATE TABLE conv_rollup_link_device_d (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, device TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, link_id, offer_id, device, event, status));
CREATE TABLE conv_rollup_link_device_w (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, device TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, link_id, offer_id, device, event, status));
CREATE TABLE conv_rollup_link_device_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, link_id TEXT NOT NULL, offer_id TEXT NOT NULL, device TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, link_id, offer_id, device, event, status));
INSERT INTO conv_rollup_link_device_d (bucket_ms, basis, link_id, offer_id, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (bucket_ms / 86400000) * 86400000, basis, link_id, offer_id, device, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_link_device_q GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO conv_rollup_link_device_d (bucket_ms, basis, link_id, offer_id, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - p.phase_ms) / 86400000) * 86400000 + p.phase_ms, basis, link_id, offer_id, device, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_link_device_q CROSS JOIN local_days p GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO conv_rollup_link_device_w (bucket_ms, basis, link_id, offer_id, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, basis, link_id, offer_id, device, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_link_device_q GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO conv_rollup_link_device_m (bucket_ms, basis, link_id, offer_id, device, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket_ms / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint, basis, link_id, offer_id, device, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_link_device_q GROUP BY 1, 2, 3, 4, 5, 6, 7;
DROP TABLE conv_rollup_link_device_q;
