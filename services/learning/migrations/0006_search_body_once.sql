-- A source's `body` holds its free texts other than its title and findings: those two have their own
-- columns, weighted A and B in `search`, so the same words no longer count again (weight C) in the rank,
-- nor show twice in a snippet. Rows indexed before held title and findings at the head of `body`: cut
-- them off (the generated `search` column and its index follow).
UPDATE "lif_learning_personal".sources AS s
SET body = CASE WHEN s.body = head.text THEN '' ELSE substr(s.body, length(head.text) + 2) END
FROM (
    SELECT source_id, array_to_string(array_remove(ARRAY[nullif(title, ''), nullif(findings, '')], NULL), E'\n') AS text
    FROM "lif_learning_personal".sources
) AS head
WHERE head.source_id = s.source_id
  AND s.body IS NOT NULL
  AND head.text <> ''
  AND (s.body = head.text OR left(s.body, length(head.text) + 1) = head.text || E'\n');
