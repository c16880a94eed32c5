-- Idempotency keys of the send route (API.md, Sending): one row per
-- (user, key). While `response` is NULL the row is a reservation held by
-- the request with `lease_token` until `expires_at` (a short lease, so a
-- holder that died frees the key); once completed it replays `response`
-- until `expires_at` (24 hours). A row whose `expires_at` has passed counts
-- as absent, and reservations sweep such rows in small batches.

CREATE TABLE idempotency_keys (
    user_id     BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         TEXT        NOT NULL,
    -- A hash of the normalised request: the same key with another body is refused.
    fingerprint TEXT        NOT NULL,
    lease_token TEXT        NOT NULL,
    response    JSONB,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- Serves the sweep: expired rows, oldest first, without a scan.
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
