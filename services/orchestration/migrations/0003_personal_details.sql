-- Orchestration's erasable store (lif/erasable.py): chronology texts, outcomes, reports and learning summaries, per board, outside the
-- immutable log. Events reference a row by id (and sha256); erasing a row never rewrites history.
CREATE SCHEMA IF NOT EXISTS lif_orchestration_personal;

CREATE TABLE IF NOT EXISTS "lif_orchestration_personal".details (
    id uuid PRIMARY KEY,
    lscb text NOT NULL,
    case_id uuid NOT NULL,
    kind text NOT NULL,
    body text,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at timestamptz
);
