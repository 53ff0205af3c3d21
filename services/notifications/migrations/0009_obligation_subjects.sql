-- An obligation is a case's, or a learning recommendation's (an action's due date, a re-audit), which names no
-- case. `subject_id` is what the notifications aggregate holding it is kept under and what the tick reads: the
-- case, or for learning the id its events travel under (the case of a LIF review, else the source's own id).
-- `case_id` is NULL for a recommendation's obligation; `recommendation_id` names the recommendation.
ALTER TABLE lif_notifications.obligations ADD COLUMN IF NOT EXISTS subject_id uuid;
UPDATE lif_notifications.obligations SET subject_id = case_id WHERE subject_id IS NULL;
ALTER TABLE lif_notifications.obligations ALTER COLUMN subject_id SET NOT NULL;
ALTER TABLE lif_notifications.obligations ALTER COLUMN case_id DROP NOT NULL;
ALTER TABLE lif_notifications.obligations ADD COLUMN IF NOT EXISTS recommendation_id uuid;
CREATE INDEX IF NOT EXISTS obligations_by_subject ON lif_notifications.obligations (subject_id);
