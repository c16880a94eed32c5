-- Issue 9: a sync run that stops making progress is finished as stale, so
-- each run keeps when it last progressed (its start, then each counted
-- chat); and the messages a chat's job newly stores are tallied to the
-- (run, chat) in the transaction that stores them, so the chat's report
-- counts what was stored even when the job that stored it died before
-- reporting.
ALTER TABLE sync_runs ADD COLUMN progressed_at TIMESTAMPTZ;
UPDATE sync_runs SET progressed_at = COALESCE(finished_at, started_at);
ALTER TABLE sync_runs ALTER COLUMN progressed_at SET NOT NULL;

CREATE TABLE sync_run_tallies (
    sync_id BIGINT NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL,
    stored BIGINT NOT NULL,
    PRIMARY KEY (sync_id, contact_id)
);
