-- Events learning could not process after bounded retries (lif/delivery/parking.py), with the reason, the
-- envelope as it came and its position. The envelope is JSON text: jsonb cannot hold the NUL a poison
-- event may carry. `behind` names the parked event of the same case this one waits behind (NULL: the head).
CREATE TABLE IF NOT EXISTS "lif_learning".parked_events (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    case_id uuid NOT NULL,
    lscb text NOT NULL,
    event_type text NOT NULL,
    position_key text NOT NULL,
    position bigint NOT NULL,
    envelope text NOT NULL,
    reason text NOT NULL,
    behind uuid,
    status text NOT NULL DEFAULT 'parked' CHECK (status IN ('parked', 'retried', 'dropped')),
    seq bigint GENERATED ALWAYS AS IDENTITY,
    parked_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolved_by text,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS parked_events_open_by_case
    ON "lif_learning".parked_events (consumer, case_id, seq) WHERE status = 'parked';
