-- Decisioning's registries: the lead reviewers (names live here; events name a reviewer by id only) and the
-- learning themes of closed reviews (for repeat learning, rule E).
CREATE SCHEMA IF NOT EXISTS lif_decisioning_registry;

CREATE TABLE IF NOT EXISTS lif_decisioning_registry.reviewers (
    reviewer_id text PRIMARY KEY,
    name text NOT NULL,
    employer jsonb NOT NULL,
    affiliations jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE IF NOT EXISTS lif_decisioning_registry.closed_reviews (
    review_ref text PRIMARY KEY,
    lscb text NOT NULL,
    themes text[] NOT NULL,
    typology text NOT NULL,
    closed_on date NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
