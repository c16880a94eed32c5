-- History sync runs (API.md "Sync"): one row per run, counters bumped by the
-- per-chat jobs, and one row per finished chat so that a job run twice
-- (SQS is at-least-once) counts its chat once.
CREATE TABLE sync_runs (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('running', 'done')),
    chats_total INTEGER NOT NULL CHECK (chats_total >= 0),
    chats_done INTEGER NOT NULL DEFAULT 0,
    chats_failed INTEGER NOT NULL DEFAULT 0,
    messages_synced BIGINT NOT NULL DEFAULT 0,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);

-- At most one running run per user: a second start returns the running one.
CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (user_id) WHERE state = 'running';
CREATE INDEX sync_runs_latest ON sync_runs (user_id, id DESC);

CREATE TABLE sync_run_chats (
    sync_id BIGINT NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL,
    failed BOOLEAN NOT NULL,
    PRIMARY KEY (sync_id, contact_id)
);
