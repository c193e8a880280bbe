-- sub1 by its value alone, as sub2 to sub5 are (0010): an unscoped
-- report by sub1 (by day and sub1, by sub1 and status) read the offer x
-- sub1 rollup, whose day rows hold a row per offer and value (about a
-- thousand a day at 10 M clicks, 50 values over 20 offers), and its
-- conversion rows once more per event and status. Filled from that
-- rollup, summed over its offers: the rows recording would have written,
-- local days (`local_days`) included.
CREATE TABLE rollup_sub1_alone_q (bucket_ms INTEGER NOT NULL, sub1 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, sub1)) WITHOUT ROWID;
INSERT INTO rollup_sub1_alone_q (bucket_ms, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT bucket_ms, sub1, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub1_q GROUP BY 1, 2;
CREATE TABLE rollup_sub1_alone_d (bucket_ms INTEGER NOT NULL, sub1 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, sub1)) WITHOUT ROWID;
INSERT INTO rollup_sub1_alone_d (bucket_ms, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT bucket_ms, sub1, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub1_d GROUP BY 1, 2;
CREATE TABLE rollup_sub1_alone_w (bucket_ms INTEGER NOT NULL, sub1 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, sub1)) WITHOUT ROWID;
INSERT INTO rollup_sub1_alone_w (bucket_ms, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT bucket_ms, sub1, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub1_w GROUP BY 1, 2;
CREATE TABLE rollup_sub1_alone_m (bucket_ms INTEGER NOT NULL, sub1 TEXT NOT NULL,
    clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, bot_clicks INTEGER NOT NULL, suspicious_clicks INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, sub1)) WITHOUT ROWID;
INSERT INTO rollup_sub1_alone_m (bucket_ms, sub1, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT bucket_ms, sub1, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_sub1_m GROUP BY 1, 2;
CREATE TABLE conv_rollup_sub1_alone_d (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, sub1 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub1, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_sub1_alone_d (bucket_ms, basis, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT bucket_ms, basis, sub1, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub1_d GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE conv_rollup_sub1_alone_w (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, sub1 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub1, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_sub1_alone_w (bucket_ms, basis, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT bucket_ms, basis, sub1, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub1_w GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE conv_rollup_sub1_alone_m (bucket_ms INTEGER NOT NULL, basis TEXT NOT NULL, sub1 TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions INTEGER NOT NULL, refunds INTEGER NOT NULL, duplicates INTEGER NOT NULL, capped INTEGER NOT NULL, unconverted INTEGER NOT NULL, payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, delay_0 INTEGER NOT NULL, delay_1 INTEGER NOT NULL, delay_2 INTEGER NOT NULL, delay_3 INTEGER NOT NULL, delay_4 INTEGER NOT NULL, delay_5 INTEGER NOT NULL, delay_6 INTEGER NOT NULL, delay_7 INTEGER NOT NULL, delay_8 INTEGER NOT NULL, delay_9 INTEGER NOT NULL, delay_10 INTEGER NOT NULL, delay_11 INTEGER NOT NULL, delay_12 INTEGER NOT NULL, delay_13 INTEGER NOT NULL, delay_14 INTEGER NOT NULL, delay_15 INTEGER NOT NULL, delay_16 INTEGER NOT NULL,
    PRIMARY KEY (basis, bucket_ms, sub1, event, status)) WITHOUT ROWID;
INSERT INTO conv_rollup_sub1_alone_m (bucket_ms, basis, sub1, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT bucket_ms, basis, sub1, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_sub1_m GROUP BY 1, 2, 3, 4, 5;
