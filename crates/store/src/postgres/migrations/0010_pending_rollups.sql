-- Click rollups are summed in each node's memory and folded about once a
-- second (postgres/click_rollup.rs). Each run of sums between two folds is
-- a generation: its clicks carry its tag, and a row here says it is not
-- folded yet (with the earliest click time it holds), so that when its
-- node dies another node can fold exactly those clicks.
ALTER TABLE clicks ADD COLUMN fold bigint;
CREATE SEQUENCE rollup_folds;
CREATE TABLE rollups_pending (
    tag bigint PRIMARY KEY,
    since_ms bigint NOT NULL
);
