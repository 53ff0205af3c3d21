-- Where the outbox relay has got to in learning's log: the last notification id the broker acknowledged.
CREATE TABLE IF NOT EXISTS "lif_learning".relay_positions (relay text PRIMARY KEY, position bigint NOT NULL);
