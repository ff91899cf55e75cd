-- 009, PostgreSQL flavour: what the ledger of external writes (side_effects,
-- internal/effects) keeps to recognise asanajira's own stories and comments
-- without a visible fingerprint.
--   digest: what the write says (effects.Digest of its text) when its intent
--           was first recorded; author: the Asana user whose account makes
--           it. While a write is pending, a story or comment by that user
--           saying that may be it, and the sync engine does not mirror it.
--   side_effects_target: "is this story or comment the recorded result of a
--           write to this task or issue", and the pending writes to one.
ALTER TABLE side_effects ADD COLUMN digest TEXT NOT NULL DEFAULT '';
ALTER TABLE side_effects ADD COLUMN author TEXT NOT NULL DEFAULT '';
CREATE INDEX side_effects_target ON side_effects (target, result);
