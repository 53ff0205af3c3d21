-- The original bytes of incident notifications intake dead-lettered (services/intake/dead_letters.py):
-- kept here, where erasure reaches them, instead of on Kafka. One row per message position, so a
-- redelivery keeps the same row; erasing clears key and value and keeps the row to say so.
CREATE TABLE IF NOT EXISTS "lif_intake_personal".dead_letter_originals (
    id uuid PRIMARY KEY,
    source_topic text NOT NULL,
    source_partition integer NOT NULL,
    source_offset bigint NOT NULL,
    kind text NOT NULL DEFAULT 'dead_letter_original',
    key bytea,
    value bytea,
    was_null boolean NOT NULL,
    reason text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at timestamptz
);
