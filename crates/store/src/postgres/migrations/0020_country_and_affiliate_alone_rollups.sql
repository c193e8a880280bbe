-- Country by its value alone, and the affiliate alone, as sub1 is (0017):
-- by day and country read the geo rollup, whose day rows hold a row per
-- offer, country, device, os and browser (thousands a day at 10 M
-- clicks), and by day and affiliate the offer x affiliate rollup (a row
-- per offer and affiliate, up to a thousand a day over 100 affiliates).
-- The country's rollup serves unscoped reports by country alone; the
-- affiliate's, reports by affiliate alone unscoped or a partner's own.
-- Filled from those rollups, summed over the other columns: the rows
-- recording would have written, local days (`local_days`) included.
CREATE TABLE rollup_country_alone_q (bucket_ms BIGINT NOT NULL, country TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, country));
INSERT INTO rollup_country_alone_q (bucket_ms, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT bucket_ms, country, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_geo_q GROUP BY 1, 2;
CREATE TABLE rollup_country_alone_d (bucket_ms BIGINT NOT NULL, country TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, country));
INSERT INTO rollup_country_alone_d (bucket_ms, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT bucket_ms, country, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_geo_d GROUP BY 1, 2;
CREATE TABLE rollup_country_alone_w (bucket_ms BIGINT NOT NULL, country TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, country));
INSERT INTO rollup_country_alone_w (bucket_ms, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT bucket_ms, country, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_geo_w GROUP BY 1, 2;
CREATE TABLE rollup_country_alone_m (bucket_ms BIGINT NOT NULL, country TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, country));
INSERT INTO rollup_country_alone_m (bucket_ms, country, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT bucket_ms, country, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_geo_m GROUP BY 1, 2;
CREATE TABLE conv_rollup_country_alone_d (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, country TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, country, event, status));
INSERT INTO conv_rollup_country_alone_d (bucket_ms, basis, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT bucket_ms, basis, country, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_geo_d GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE conv_rollup_country_alone_w (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, country TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, country, event, status));
INSERT INTO conv_rollup_country_alone_w (bucket_ms, basis, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT bucket_ms, basis, country, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_geo_w GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE conv_rollup_country_alone_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, country TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, country, event, status));
INSERT INTO conv_rollup_country_alone_m (bucket_ms, basis, country, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT bucket_ms, basis, country, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_geo_m GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE rollup_affiliate_alone_q (bucket_ms BIGINT NOT NULL, affiliate_id TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id));
INSERT INTO rollup_affiliate_alone_q (bucket_ms, affiliate_id, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT bucket_ms, affiliate_id, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_q GROUP BY 1, 2;
CREATE TABLE rollup_affiliate_alone_d (bucket_ms BIGINT NOT NULL, affiliate_id TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id));
INSERT INTO rollup_affiliate_alone_d (bucket_ms, affiliate_id, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT bucket_ms, affiliate_id, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_d GROUP BY 1, 2;
CREATE TABLE rollup_affiliate_alone_w (bucket_ms BIGINT NOT NULL, affiliate_id TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id));
INSERT INTO rollup_affiliate_alone_w (bucket_ms, affiliate_id, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT bucket_ms, affiliate_id, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_w GROUP BY 1, 2;
CREATE TABLE rollup_affiliate_alone_m (bucket_ms BIGINT NOT NULL, affiliate_id TEXT NOT NULL,
    clicks BIGINT NOT NULL, unique_clicks BIGINT NOT NULL, bot_clicks BIGINT NOT NULL, suspicious_clicks BIGINT NOT NULL,
    PRIMARY KEY (bucket_ms, affiliate_id));
INSERT INTO rollup_affiliate_alone_m (bucket_ms, affiliate_id, clicks, unique_clicks, bot_clicks, suspicious_clicks)
    SELECT bucket_ms, affiliate_id, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
    FROM rollup_affiliate_m GROUP BY 1, 2;
CREATE TABLE conv_rollup_affiliate_alone_d (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, event, status));
INSERT INTO conv_rollup_affiliate_alone_d (bucket_ms, basis, affiliate_id, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT bucket_ms, basis, affiliate_id, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_d GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE conv_rollup_affiliate_alone_w (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, event, status));
INSERT INTO conv_rollup_affiliate_alone_w (bucket_ms, basis, affiliate_id, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT bucket_ms, basis, affiliate_id, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_w GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE conv_rollup_affiliate_alone_m (bucket_ms BIGINT NOT NULL, basis TEXT NOT NULL, affiliate_id TEXT NOT NULL, event TEXT NOT NULL, status TEXT NOT NULL,
    conversions BIGINT NOT NULL, refunds BIGINT NOT NULL, duplicates BIGINT NOT NULL, capped BIGINT NOT NULL, unconverted BIGINT NOT NULL, payout_micros BIGINT NOT NULL, revenue_micros BIGINT NOT NULL, delay_0 BIGINT NOT NULL, delay_1 BIGINT NOT NULL, delay_2 BIGINT NOT NULL, delay_3 BIGINT NOT NULL, delay_4 BIGINT NOT NULL, delay_5 BIGINT NOT NULL, delay_6 BIGINT NOT NULL, delay_7 BIGINT NOT NULL, delay_8 BIGINT NOT NULL, delay_9 BIGINT NOT NULL, delay_10 BIGINT NOT NULL, delay_11 BIGINT NOT NULL, delay_12 BIGINT NOT NULL, delay_13 BIGINT NOT NULL, delay_14 BIGINT NOT NULL, delay_15 BIGINT NOT NULL, delay_16 BIGINT NOT NULL,
    PRIMARY KEY (basis, bucket_ms, affiliate_id, event, status));
INSERT INTO conv_rollup_affiliate_alone_m (bucket_ms, basis, affiliate_id, event, status, conversions, refunds, duplicates, capped, unconverted, payout_micros, revenue_micros, delay_0, delay_1, delay_2, delay_3, delay_4, delay_5, delay_6, delay_7, delay_8, delay_9, delay_10, delay_11, delay_12, delay_13, delay_14, delay_15, delay_16)
    SELECT bucket_ms, basis, affiliate_id, event, status, SUM(conversions), SUM(refunds), SUM(duplicates), SUM(capped), SUM(unconverted), SUM(payout_micros), SUM(revenue_micros), SUM(delay_0), SUM(delay_1), SUM(delay_2), SUM(delay_3), SUM(delay_4), SUM(delay_5), SUM(delay_6), SUM(delay_7), SUM(delay_8), SUM(delay_9), SUM(delay_10), SUM(delay_11), SUM(delay_12), SUM(delay_13), SUM(delay_14), SUM(delay_15), SUM(delay_16)
    FROM conv_rollup_affiliate_m GROUP BY 1, 2, 3, 4, 5;
