-- Who read which review's Learning Summary (services/orchestration/summary_reads.py): learning collation
-- asking orchestration for it, logged by orchestration as the owner of the text. No text is kept here.
CREATE TABLE IF NOT EXISTS "lif_orchestration".learning_summary_reads (
    id bigserial PRIMARY KEY,
    reader text NOT NULL,
    lscb text NOT NULL,
    case_id uuid NOT NULL,
    review_id uuid,
    found boolean NOT NULL,
    read_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS learning_summary_reads_case ON "lif_orchestration".learning_summary_reads (case_id);
