-- Users and the failed-login window (API.md: Auth).
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT        NOT NULL UNIQUE,
    name          TEXT        NOT NULL,
    password_hash TEXT        NOT NULL,
    is_active     BOOLEAN     NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per e-mail (known or not): failures since window_started_at.
-- An expired row is simply restarted by the next failure.
CREATE TABLE login_failures (
    email             TEXT        PRIMARY KEY,
    failures          INTEGER     NOT NULL,
    window_started_at TIMESTAMPTZ NOT NULL
);
