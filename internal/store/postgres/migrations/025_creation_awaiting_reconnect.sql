-- 025, PostgreSQL flavour: the sweep of unresolved creations' claims
-- (sweep_create_claims) puts off a claim whose user has no usable Jira
-- credential: it completes it with '{"failed":true,"reconnect":true}' and
-- an expiry at the time it may try again (a growing interval, up to six
-- hours). Such a claim is failed to a submit, which takes it over at once;
-- the sweep lists it again once it expired, so the partial index of the
-- unresolved claims holds it too. The sweep's query repeats its WHERE
-- (store.unresolvedCreation).
DROP INDEX idempotency_keys_unresolved_creations;
CREATE INDEX idempotency_keys_unresolved_creations ON idempotency_keys (expires_at)
    WHERE user_gid <> '' AND (result IS NULL OR result IN ('{"failed":true}'::bytea, '{"failed":true,"reconnect":true}'::bytea));
