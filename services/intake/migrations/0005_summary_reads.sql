-- Who read which incident summary (services/intake/summary_reads.py): another service asking intake for
-- a summary it holds, logged by intake as the owner of the text. No text is kept here.
CREATE TABLE IF NOT EXISTS "lif_intake".summary_reads (
    id bigserial PRIMARY KEY,
    reader text NOT NULL,
    summary_ref uuid NOT NULL,
    lscb text NOT NULL,
    case_id uuid,
    found boolean NOT NULL,
    read_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS summary_reads_case ON "lif_intake".summary_reads (case_id);
