-- Who read the learning inputs of a report (services/learning/report_inputs.py): another service asking
-- learning collation for them, logged by learning as the owner of the texts. No text is kept here.
CREATE TABLE IF NOT EXISTS "lif_learning".report_input_reads (
    id bigserial PRIMARY KEY,
    reader text NOT NULL,
    scope text NOT NULL,
    period_from date NOT NULL,
    period_to date NOT NULL,
    sources integer NOT NULL,
    recommendations integer NOT NULL,
    read_at timestamptz NOT NULL DEFAULT now()
);
