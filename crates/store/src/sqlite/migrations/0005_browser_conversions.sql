-- Browser conversions (t.js, /px): a conversion and its postback log entry
-- record the channel they came by. NULL is s2s (the advertiser's server),
-- the common case, which costs a NULL's header byte; 'browser' otherwise.
-- (0004 is traffic flows'.)
ALTER TABLE conversions ADD COLUMN channel TEXT;
ALTER TABLE postback_log ADD COLUMN channel TEXT;
