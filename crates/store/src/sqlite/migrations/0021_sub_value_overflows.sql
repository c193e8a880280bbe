-- The UTC days on which a sub slot (1 to 5) held more distinct values
-- than the click writer keeps in the rollups (`sub_guard`): past that,
-- a click's new value is counted under '(other)', and a report that
-- groups or filters by the slot over such a day reads raw clicks.
CREATE TABLE sub_value_overflows (slot INTEGER NOT NULL, day_ms INTEGER NOT NULL,
    PRIMARY KEY (slot, day_ms)) WITHOUT ROWID;
