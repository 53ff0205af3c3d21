-- Access tokens: only a SHA-256 hash of each token is stored (lif/auth/tokens.py).
CREATE SCHEMA IF NOT EXISTS lif_access;

CREATE TABLE IF NOT EXISTS lif_access.tokens (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    role text NOT NULL,
    scope text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
