-- When a connector's latest failed attempt was: a failing stretch is broken by an idle one (nothing
-- to deliver for longer than policy.IDLE_GAP), so 5 idle days never count as 5 days of failing.
ALTER TABLE dataconnectors ADD COLUMN last_failure REAL;
