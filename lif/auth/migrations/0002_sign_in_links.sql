-- One-time web sign-in links (`lif tokens create --web`): the link's secret is never stored, only its
-- SHA-256 and the token sealed under it (lif/auth/sealed.py). The web service records a link's use in
-- its own schema, so a link signs in once.
CREATE TABLE IF NOT EXISTS lif_access.sign_in_links (
    link_hash bytea PRIMARY KEY,
    sealed_token bytea NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
