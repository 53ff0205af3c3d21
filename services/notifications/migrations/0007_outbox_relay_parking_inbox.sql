-- Where the outbox relay has got to in the outbox's log: the last notification id the broker acknowledged.
CREATE TABLE IF NOT EXISTS "lif_notifications_outbox".relay_positions (relay text PRIMARY KEY, position bigint NOT NULL);

-- Timer events the outbox could not turn into messages after bounded retries (lif/delivery/parking.py).
CREATE TABLE IF NOT EXISTS "lif_notifications_outbox".parked_events (
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
    ON "lif_notifications_outbox".parked_events (consumer, case_id, seq) WHERE status = 'parked';

-- The in-app inbox: what the inbox channel delivered, one row per message (its id: a redelivery is a no-op).
-- `recipient_id` is a role's inbox (`role:chair`) or a person's directory entry; `principal` is the token
-- name of that person (NULL for a role's inbox). Texts are rendered from ids and dates only.
CREATE TABLE IF NOT EXISTS "lif_notifications_outbox".inbox (
    message_id uuid PRIMARY KEY,
    lscb text NOT NULL,
    recipient_id text NOT NULL,
    role text,
    principal text,
    template text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    context jsonb NOT NULL,
    delivered_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz,
    read_by text
);
CREATE INDEX IF NOT EXISTS inbox_by_role ON "lif_notifications_outbox".inbox (lscb, role, delivered_at DESC);
CREATE INDEX IF NOT EXISTS inbox_by_principal ON "lif_notifications_outbox".inbox (lscb, principal, delivered_at DESC);
