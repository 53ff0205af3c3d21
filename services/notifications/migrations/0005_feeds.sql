-- Calendar feeds: each has its own unguessable URL (only the SHA-256 of its secret is kept) and can be
-- revoked. A board feed shows the board's obligations; a person's feed shows what that person's token may
-- see, read at each request, so a revoked token empties nothing but answers 404.
CREATE TABLE IF NOT EXISTS lif_notifications.feeds (
    feed_id uuid PRIMARY KEY,
    secret_sha256 text NOT NULL UNIQUE,
    owner_kind text NOT NULL CHECK (owner_kind IN ('board', 'person')),
    lscb text,
    principal text,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    revoked_at timestamptz,
    CHECK ((owner_kind = 'board') = (lscb IS NOT NULL)),
    CHECK ((owner_kind = 'person') = (principal IS NOT NULL))
);
