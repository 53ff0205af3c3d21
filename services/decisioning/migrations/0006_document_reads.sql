-- Who read which of decisioning's documents (services/decisioning/document_reads.py): another service asking
-- decisioning for a rationale, note, referral reason or notice it holds (the read model's audit timeline),
-- logged by decisioning as the owner of the text. No text is kept here.
CREATE TABLE IF NOT EXISTS "lif_decisioning".document_reads (
    id bigserial PRIMARY KEY,
    reader text NOT NULL,
    document_id uuid NOT NULL,
    lscb text NOT NULL,
    case_id uuid,
    found boolean NOT NULL,
    read_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS document_reads_case ON "lif_decisioning".document_reads (case_id);
