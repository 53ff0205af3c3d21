-- Learning collation's erasable store (lif/erasable.py) and its register: the learning texts of every
-- source, per board, outside the immutable log, and the tables the register, the search and the figures
-- read (services/learning/register.py), kept from the service's own log. The full-text index is a column
-- of the register row, so erasing a text (services/learning/erasure.py) takes it out of the index too.
CREATE SCHEMA IF NOT EXISTS lif_learning_personal;

CREATE TABLE IF NOT EXISTS "lif_learning_personal".details (
    id uuid PRIMARY KEY,
    lscb text NOT NULL,
    case_id uuid NOT NULL,
    kind text NOT NULL,
    body text,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at timestamptz
);

CREATE TABLE IF NOT EXISTS "lif_learning_personal".sources (
    source_id uuid PRIMARY KEY,
    lscb text NOT NULL,
    source_kind text NOT NULL,
    review_type text,
    on_date date NOT NULL,
    incident_month text,
    reference text NOT NULL,
    case_id uuid,
    review_id uuid,
    themes text[] NOT NULL,
    tags jsonb NOT NULL,
    mapped_tags jsonb NOT NULL,
    document jsonb,
    title text,
    findings text,
    body text,
    erased_at timestamptz,
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A')
        || setweight(to_tsvector('english', coalesce(findings, '')), 'B')
        || setweight(to_tsvector('english', coalesce(body, '')), 'C')
    ) STORED
);
CREATE INDEX IF NOT EXISTS sources_search ON "lif_learning_personal".sources USING gin (search);
CREATE INDEX IF NOT EXISTS sources_themes ON "lif_learning_personal".sources USING gin (themes);
CREATE INDEX IF NOT EXISTS sources_board_date ON "lif_learning_personal".sources (lscb, on_date);
CREATE INDEX IF NOT EXISTS sources_date ON "lif_learning_personal".sources (on_date);

CREATE TABLE IF NOT EXISTS "lif_learning_personal".recommendations (
    recommendation_id uuid PRIMARY KEY,
    source_id uuid NOT NULL,
    lscb text NOT NULL,
    scope text NOT NULL,
    agency text,
    themes text[] NOT NULL,
    tags jsonb NOT NULL,
    on_date date NOT NULL,
    text_id uuid NOT NULL
);
CREATE INDEX IF NOT EXISTS recommendations_source ON "lif_learning_personal".recommendations (source_id);

CREATE TABLE IF NOT EXISTS "lif_learning_personal".actions (
    action_id uuid PRIMARY KEY,
    recommendation_id uuid NOT NULL,
    lscb text NOT NULL,
    owning_agency text NOT NULL,
    due date NOT NULL,
    status text NOT NULL DEFAULT 'open',
    description_id uuid NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_recommendation ON "lif_learning_personal".actions (recommendation_id);

CREATE TABLE IF NOT EXISTS "lif_learning_personal".impact_evidence (
    evidence_id uuid PRIMARY KEY,
    recommendation_id uuid NOT NULL,
    lscb text NOT NULL,
    audited_on date NOT NULL,
    result text NOT NULL,
    finding_id uuid NOT NULL
);
CREATE INDEX IF NOT EXISTS impact_evidence_recommendation ON "lif_learning_personal".impact_evidence (recommendation_id);

CREATE TABLE IF NOT EXISTS "lif_learning_personal".reaudits (
    reaudit_id uuid PRIMARY KEY,
    recommendation_id uuid NOT NULL,
    lscb text NOT NULL,
    due date NOT NULL,
    answered_by uuid
);

-- Where the register has got to in the service's own log, written in the transaction that updates it.
CREATE TABLE IF NOT EXISTS "lif_learning_personal".register_positions (
    position_key text PRIMARY KEY,
    position bigint NOT NULL
);
