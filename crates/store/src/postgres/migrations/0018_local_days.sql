-- Local days the rollups keep day rows for, beside the UTC day's, in the
-- same day tables (`_d`): days that start `phase_ms` after UTC midnight
-- (Asia/Kolkata's at 18:30 UTC). A report by day in such a timezone reads
-- one row per key and day where a UTC day needed 22 quarter hours of
-- corrections. `since_ms`: the first day start from which the rows are
-- complete (a phase added to a tracker with rollups applies from its next
-- day on).
CREATE TABLE local_days (
    phase_ms BIGINT PRIMARY KEY,
    since_ms BIGINT NOT NULL
);
