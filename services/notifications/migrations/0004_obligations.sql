-- The obligations as the API, the calendar feeds and the timers read them: a read model of the notifications
-- log, one row per obligation, rewritten from the case's aggregate with the log position in one transaction.
-- `next_fire` is the next day a tick has something to do for the obligation (NULL: nothing more), indexed so
-- a tick reads only what is due. `document` is the obligation's view (history and timers fired included);
-- it holds ids, kinds, dates and roles only, never a name.
CREATE TABLE IF NOT EXISTS lif_notifications.obligations (
    obligation_id uuid PRIMARY KEY,
    case_id uuid NOT NULL,
    lscb text NOT NULL,
    review_id uuid,
    kind text NOT NULL,
    ref text NOT NULL,
    due date NOT NULL,
    state text NOT NULL CHECK (state IN ('open', 'met', 'cancelled')),
    met_on date,
    answering_roles text[] NOT NULL,
    member_ids text[] NOT NULL DEFAULT '{}',
    next_fire date,
    document jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS obligations_next_fire
    ON lif_notifications.obligations (next_fire) WHERE next_fire IS NOT NULL;
CREATE INDEX IF NOT EXISTS obligations_by_board ON lif_notifications.obligations (lscb, state, due);
CREATE INDEX IF NOT EXISTS obligations_by_case ON lif_notifications.obligations (case_id);

-- Where the obligations table has got to in the notifications log (locked while it catches up).
CREATE TABLE IF NOT EXISTS lif_notifications.index_positions (name text PRIMARY KEY, position bigint NOT NULL);
INSERT INTO lif_notifications.index_positions (name, position) VALUES ('obligations', 0)
    ON CONFLICT (name) DO NOTHING;
