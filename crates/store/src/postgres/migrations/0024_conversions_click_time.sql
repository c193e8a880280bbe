-- Conversions by their click's time: a report's 15-minute edges by click
-- time read conversions of shapes that keep no 15-minute rows, and
-- scanned every conversion without it.
CREATE INDEX IF NOT EXISTS conversions_click_time ON conversions (click_ms);
