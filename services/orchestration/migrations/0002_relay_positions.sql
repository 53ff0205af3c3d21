-- Where the outbox relay has got to in orchestration's log: the last notification id the broker acknowledged.
CREATE TABLE IF NOT EXISTS "lif_orchestration".relay_positions (relay text PRIMARY KEY, position bigint NOT NULL);
