-- The conversion rollups' 15-minute tables, but the offer's: in every
-- other shape a quarter hour and key held about one conversion (1 M
-- conversions over 90 days: each row copied a conversion, once per shape
-- and basis, about 40 rows a conversion). A report reads its 15-minute
-- edges from the conversions themselves there, about as many rows, and
-- writes keep the day, week and month rows only. The offer's stay: a
-- report by time alone sums many conversions in each of them.
DROP TABLE conv_rollup_link_q;
DROP TABLE conv_rollup_geo_q;
DROP TABLE conv_rollup_sub_q;
DROP TABLE conv_rollup_affiliate_q;
DROP TABLE conv_rollup_source_q;
DROP TABLE conv_rollup_sub1_q;
DROP TABLE conv_rollup_link_offer_q;
DROP TABLE conv_rollup_affiliate_sub1_q;
DROP TABLE conv_rollup_sub2_q;
DROP TABLE conv_rollup_sub3_q;
DROP TABLE conv_rollup_sub4_q;
DROP TABLE conv_rollup_sub5_q;
DROP TABLE conv_rollup_link_country_q;
DROP TABLE conv_rollup_affiliate_sub2_q;
DROP TABLE conv_rollup_affiliate_sub3_q;
DROP TABLE conv_rollup_affiliate_sub4_q;
DROP TABLE conv_rollup_affiliate_sub5_q;
DROP TABLE conv_rollup_affiliate_geo_q;
