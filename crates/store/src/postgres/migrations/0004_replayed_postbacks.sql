-- A postback taken while the store was away is kept in the node's fallback
-- journal and decided when replayed; its log entry says so.
ALTER TABLE postback_log ADD COLUMN replayed BOOLEAN NOT NULL DEFAULT FALSE;
