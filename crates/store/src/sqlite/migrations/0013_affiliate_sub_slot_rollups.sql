-- A rollup per sub slot, sub2 to sub5, keyed by affiliate and value, for
-- clicks and conversions at every grain: a report by a slot for one
-- affiliate (a partner's own report by sub2, or an admin's filtered to
-- one affiliate) read every raw click of that affiliate in its range, 3-6 s
-- for the largest of 100 affiliates over 10 M clicks; the slot's own
-- rollup has no affiliate. An affiliate's ad or placement ids are mostly
-- its own, so the rows are about as many as the slot's own rollup has.
-- The 15-minute rows are filled from the clicks and the conversions, as
-- recording fills them; the day, week and month rows from the finer ones,
-- which add up to them. Generated once from the slot rollups' migrations,
-- with the affiliate added to the key; frozen like every migration.
CREATE TABLE rollup_affiliate_sub2_q (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub2 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub2)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub2_q (bucket_ms, affiliate_id, sub2, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (r.ts_ms / 900000) * 900000, l.affiliate_id, COALESCE(r.sub2, ''),
        COUNT(*), SUM(r.is_unique), SUM(r.is_bot), SUM(r.suspicious)
    FROM clicks r JOIN links l ON l.id = r.link_id
    WHERE r.test = FALSE GROUP BY 1, 2, 3;
CREATE TABLE rollup_affiliate_sub2_d (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub2 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub2)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub2_d (bucket_ms, affiliate_id, sub2, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (bucket_ms / 86400000) * 86400000, affiliate_id, sub2, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_sub2_q GROUP BY 1, 2, 3;
CREATE TABLE rollup_affiliate_sub2_w (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub2 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub2)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub2_w (bucket_ms, affiliate_id, sub2, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, affiliate_id, sub2, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_sub2_q GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_affiliate_sub2_q (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub2 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub2, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub2_q (bucket_ms, basis, affiliate_id, sub2, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.click_ms / 900000) * 900000, 'click', c.affiliate_id, COALESCE(c.sub2, ''), c.event, c.status,
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
INSERT INTO conv_rollup_affiliate_sub2_q (bucket_ms, basis, affiliate_id, sub2, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.conv_ms / 900000) * 900000, 'conversion', c.affiliate_id, COALESCE(c.sub2, ''), c.event, c.status,
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
CREATE TABLE conv_rollup_affiliate_sub2_d (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub2 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub2, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub2_d (bucket_ms, basis, affiliate_id, sub2, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (bucket_ms / 86400000) * 86400000, basis, affiliate_id, sub2, event, status,
        SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_sub2_q GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE conv_rollup_affiliate_sub2_w (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub2 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub2, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub2_w (bucket_ms, basis, affiliate_id, sub2, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, basis, affiliate_id, sub2, event, status,
        SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_sub2_q GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_affiliate_sub2_m (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub2 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub2)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub2_m (bucket_ms, affiliate_id, sub2, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, affiliate_id, sub2, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_sub2_d GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_affiliate_sub2_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub2 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub2, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub2_m (bucket_ms, basis, affiliate_id, sub2, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, affiliate_id, sub2, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_sub2_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_affiliate_sub3_q (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub3 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub3)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub3_q (bucket_ms, affiliate_id, sub3, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (r.ts_ms / 900000) * 900000, l.affiliate_id, COALESCE(r.sub3, ''),
        COUNT(*), SUM(r.is_unique), SUM(r.is_bot), SUM(r.suspicious)
    FROM clicks r JOIN links l ON l.id = r.link_id
    WHERE r.test = FALSE GROUP BY 1, 2, 3;
CREATE TABLE rollup_affiliate_sub3_d (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub3 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub3)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub3_d (bucket_ms, affiliate_id, sub3, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (bucket_ms / 86400000) * 86400000, affiliate_id, sub3, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_sub3_q GROUP BY 1, 2, 3;
CREATE TABLE rollup_affiliate_sub3_w (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub3 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub3)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub3_w (bucket_ms, affiliate_id, sub3, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, affiliate_id, sub3, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_sub3_q GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_affiliate_sub3_q (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub3 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub3, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub3_q (bucket_ms, basis, affiliate_id, sub3, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.click_ms / 900000) * 900000, 'click', c.affiliate_id, COALESCE(c.sub3, ''), c.event, c.status,
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
INSERT INTO conv_rollup_affiliate_sub3_q (bucket_ms, basis, affiliate_id, sub3, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.conv_ms / 900000) * 900000, 'conversion', c.affiliate_id, COALESCE(c.sub3, ''), c.event, c.status,
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
CREATE TABLE conv_rollup_affiliate_sub3_d (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub3 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub3, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub3_d (bucket_ms, basis, affiliate_id, sub3, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (bucket_ms / 86400000) * 86400000, basis, affiliate_id, sub3, event, status,
        SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_sub3_q GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE conv_rollup_affiliate_sub3_w (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub3 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub3, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub3_w (bucket_ms, basis, affiliate_id, sub3, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, basis, affiliate_id, sub3, event, status,
        SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_sub3_q GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_affiliate_sub3_m (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub3 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub3)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub3_m (bucket_ms, affiliate_id, sub3, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, affiliate_id, sub3, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_sub3_d GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_affiliate_sub3_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub3 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub3, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub3_m (bucket_ms, basis, affiliate_id, sub3, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, affiliate_id, sub3, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_sub3_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_affiliate_sub4_q (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub4 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub4)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub4_q (bucket_ms, affiliate_id, sub4, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (r.ts_ms / 900000) * 900000, l.affiliate_id, COALESCE(r.sub4, ''),
        COUNT(*), SUM(r.is_unique), SUM(r.is_bot), SUM(r.suspicious)
    FROM clicks r JOIN links l ON l.id = r.link_id
    WHERE r.test = FALSE GROUP BY 1, 2, 3;
CREATE TABLE rollup_affiliate_sub4_d (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub4 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub4)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub4_d (bucket_ms, affiliate_id, sub4, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (bucket_ms / 86400000) * 86400000, affiliate_id, sub4, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_sub4_q GROUP BY 1, 2, 3;
CREATE TABLE rollup_affiliate_sub4_w (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub4 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub4)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub4_w (bucket_ms, affiliate_id, sub4, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, affiliate_id, sub4, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_sub4_q GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_affiliate_sub4_q (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub4 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub4, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub4_q (bucket_ms, basis, affiliate_id, sub4, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.click_ms / 900000) * 900000, 'click', c.affiliate_id, COALESCE(c.sub4, ''), c.event, c.status,
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
INSERT INTO conv_rollup_affiliate_sub4_q (bucket_ms, basis, affiliate_id, sub4, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.conv_ms / 900000) * 900000, 'conversion', c.affiliate_id, COALESCE(c.sub4, ''), c.event, c.status,
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
CREATE TABLE conv_rollup_affiliate_sub4_d (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub4 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub4, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub4_d (bucket_ms, basis, affiliate_id, sub4, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (bucket_ms / 86400000) * 86400000, basis, affiliate_id, sub4, event, status,
        SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_sub4_q GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE conv_rollup_affiliate_sub4_w (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub4 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub4, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub4_w (bucket_ms, basis, affiliate_id, sub4, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, basis, affiliate_id, sub4, event, status,
        SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_sub4_q GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_affiliate_sub4_m (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub4 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub4)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub4_m (bucket_ms, affiliate_id, sub4, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, affiliate_id, sub4, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_sub4_d GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_affiliate_sub4_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub4 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub4, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub4_m (bucket_ms, basis, affiliate_id, sub4, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, affiliate_id, sub4, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_sub4_d GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_affiliate_sub5_q (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub5 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub5)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub5_q (bucket_ms, affiliate_id, sub5, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (r.ts_ms / 900000) * 900000, l.affiliate_id, COALESCE(r.sub5, ''),
        COUNT(*), SUM(r.is_unique), SUM(r.is_bot), SUM(r.suspicious)
    FROM clicks r JOIN links l ON l.id = r.link_id
    WHERE r.test = FALSE GROUP BY 1, 2, 3;
CREATE TABLE rollup_affiliate_sub5_d (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub5 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub5)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub5_d (bucket_ms, affiliate_id, sub5, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT (bucket_ms / 86400000) * 86400000, affiliate_id, sub5, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_sub5_q GROUP BY 1, 2, 3;
CREATE TABLE rollup_affiliate_sub5_w (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub5 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub5)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub5_w (bucket_ms, affiliate_id, sub5, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, affiliate_id, sub5, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_sub5_q GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_affiliate_sub5_q (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub5 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub5, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub5_q (bucket_ms, basis, affiliate_id, sub5, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.click_ms / 900000) * 900000, 'click', c.affiliate_id, COALESCE(c.sub5, ''), c.event, c.status,
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
INSERT INTO conv_rollup_affiliate_sub5_q (bucket_ms, basis, affiliate_id, sub5, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (c.conv_ms / 900000) * 900000, 'conversion', c.affiliate_id, COALESCE(c.sub5, ''), c.event, c.status,
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
CREATE TABLE conv_rollup_affiliate_sub5_d (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub5 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub5, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub5_d (bucket_ms, basis, affiliate_id, sub5, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT (bucket_ms / 86400000) * 86400000, basis, affiliate_id, sub5, event, status,
        SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_sub5_q GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE conv_rollup_affiliate_sub5_w (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub5 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub5, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub5_w (bucket_ms, basis, affiliate_id, sub5, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT ((bucket_ms - 345600000) / 604800000) * 604800000 + 345600000, basis, affiliate_id, sub5, event, status,
        SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_sub5_q GROUP BY 1, 2, 3, 4, 5, 6;
CREATE TABLE rollup_affiliate_sub5_m (bucket_ms INTEGER NOT NULL, affiliate_id TEXT NOT NULL, sub5 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id, sub5)) WITHOUT ROWID;
INSERT INTO rollup_affiliate_sub5_m (bucket_ms, affiliate_id, sub5, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, affiliate_id, sub5, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_sub5_d GROUP BY 1, 2, 3;
CREATE TABLE conv_rollup_affiliate_sub5_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, sub5 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, sub5, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_affiliate_sub5_m (bucket_ms, basis, affiliate_id, sub5, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT CAST(strftime('%s', bucket_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000, basis, affiliate_id, sub5, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_sub5_d GROUP BY 1, 2, 3, 4, 5, 6;
