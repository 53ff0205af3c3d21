-- The web service's sessions: a cookie's secret maps to the person's bearer token, sealed under that
-- secret (lif/auth/sealed.py); only the secret's SHA-256 is stored. Idle and absolute expiry are checked
-- on every request; signing out ends the session.
CREATE SCHEMA IF NOT EXISTS lif_web;

CREATE TABLE IF NOT EXISTS lif_web.sessions (
    session_hash bytea PRIMARY KEY,
    sealed_token bytea NOT NULL,
    csrf_token text NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    scope text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz
);

CREATE INDEX IF NOT EXISTS sessions_last_seen ON lif_web.sessions (last_seen_at);

-- A sign-in link (kept beside the access tokens) signs in once: its use is recorded here.
CREATE TABLE IF NOT EXISTS lif_web.used_sign_in_links (
    link_hash bytea PRIMARY KEY,
    used_at timestamptz NOT NULL DEFAULT now()
);
