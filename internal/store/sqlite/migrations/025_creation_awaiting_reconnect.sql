-- 025, SQLite flavour: the sweep of unresolved creations' claims
-- (sweep_create_claims) puts off a claim whose user has no usable Jira
-- credential: it completes it with '{"failed":true,"reconnect":true}' and
-- an expiry at the time it may try again (a growing interval, up to six
-- hours). Such a claim is failed to a submit, which takes it over at once;
-- the sweep lists it again once it expired, so the partial index of the
-- unresolved claims holds it too. Its WHERE is repeated word for word by
-- the sweep's query (store.unresolvedCreation), as SQLite uses a partial
-- index only then; the CASTs compare a result written as TEXT as the BLOB
-- the store writes.
DROP INDEX idempotency_keys_unresolved_creations;
CREATE INDEX idempotency_keys_unresolved_creations ON idempotency_keys (expires_at)
    WHERE user_gid <> '' AND (result IS NULL OR CAST(result AS BLOB) IN (CAST('{"failed":true}' AS BLOB), CAST('{"failed":true,"reconnect":true}' AS BLOB)));
