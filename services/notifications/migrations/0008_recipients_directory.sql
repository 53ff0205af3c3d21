-- The recipients directory: names, email addresses, webhook URLs and signing secrets, per board, outside the
-- immutable log (events carry `recipient_id` only). Erasing an entry clears its personal data and secret and
-- keeps the row, so a message queued for it fails as "erased" instead of going elsewhere.
-- `lscb` NULL: a national recipient (the National Panel of a regime, `regime` set).
CREATE SCHEMA IF NOT EXISTS lif_notifications_directory;

CREATE TABLE IF NOT EXISTS "lif_notifications_directory".recipients (
    recipient_id text PRIMARY KEY,
    lscb text,
    channel text NOT NULL CHECK (channel IN ('email', 'webhook', 'inbox')),
    display_name text,
    address text,
    secret text,
    roles text[] NOT NULL,
    regime text,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    erased_at timestamptz,
    erased_by text
);
CREATE INDEX IF NOT EXISTS recipients_by_board ON "lif_notifications_directory".recipients (lscb) WHERE erased_at IS NULL;
