-- Each held theme keeps its typology and version (a bare code could belong to either typology), and the
-- source's kind and review type, so another board's source can be named without its reference code.
-- Rows recorded before held their own codes mixed with the codes the crosswalks map them to, all under the
-- row's typology: they become tags of that typology, and reading keeps only the codes that typology
-- version holds (the crosswalks are applied when matching, not stored).
ALTER TABLE lif_decisioning_registry.closed_reviews
    ADD COLUMN IF NOT EXISTS tags jsonb,
    ADD COLUMN IF NOT EXISTS source_kind text NOT NULL DEFAULT 'review',
    ADD COLUMN IF NOT EXISTS review_type text;

UPDATE lif_decisioning_registry.closed_reviews
SET tags = (
    SELECT coalesce(jsonb_agg(jsonb_build_object(
        'typology', split_part(typology, '/', 1), 'version', split_part(typology, '/', 2), 'code', code
    ) ORDER BY ordinality), '[]'::jsonb)
    FROM unnest(themes) WITH ORDINALITY AS t (code, ordinality)
)
WHERE tags IS NULL;

UPDATE lif_decisioning_registry.closed_reviews
SET source_kind = split_part(review_ref, ' ', 2)
WHERE review_ref ~ '^[A-Z]{3} (forum|audit) ';

ALTER TABLE lif_decisioning_registry.closed_reviews
    ALTER COLUMN tags SET NOT NULL,
    DROP COLUMN themes,
    DROP COLUMN typology;
