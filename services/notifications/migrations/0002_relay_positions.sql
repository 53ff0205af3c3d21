-- Where the outbox relay has got to in notifications' log: the last notification id the broker acknowledged.
CREATE TABLE IF NOT EXISTS "lif_notifications".relay_positions (relay text PRIMARY KEY, position bigint NOT NULL);
