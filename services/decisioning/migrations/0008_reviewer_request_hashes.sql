-- A lead reviewer registered with an Idempotency-Key keeps the hash of that request (lif/idempotency.py),
-- so the key given again with another request is refused rather than registering another reviewer.
ALTER TABLE lif_decisioning_registry.reviewers ADD COLUMN IF NOT EXISTS request_hash text;
