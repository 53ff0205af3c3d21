-- Where the outbox relay has got to in intake's log: the last notification id the broker acknowledged.
CREATE TABLE IF NOT EXISTS "lif_intake".relay_positions (relay text PRIMARY KEY, position bigint NOT NULL);
