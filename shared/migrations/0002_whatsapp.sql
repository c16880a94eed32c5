-- The WhatsApp side (API.md: Instance, Contacts, Messages): one instance per
-- user, contacts and their conversations, messages stored once per
-- (user, WhatsApp key id), and status updates that arrived before their
-- message. Statuses and types are TEXT without a CHECK on purpose: a new
-- variant in the code must never make an insert fail (a lost message).

CREATE TABLE instances (
    user_id           BIGINT      PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    name              TEXT        NOT NULL UNIQUE,
    webhook_secret    TEXT        NOT NULL,
    status            TEXT        NOT NULL DEFAULT 'disconnected',
    phone_number      TEXT,
    profile_name      TEXT,
    qr_code           TEXT,
    qr_updated_at     TIMESTAMPTZ,
    pairing_code      TEXT,
    last_connected_at TIMESTAMPTZ,
    chats_count       BIGINT,
    created_at        TIMESTAMPTZ NOT NULL,
    -- Optimistic concurrency: a save names the version it read.
    version           BIGINT      NOT NULL DEFAULT 1
);

CREATE TABLE contacts (
    id           BIGSERIAL   PRIMARY KEY,
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    jid          TEXT        NOT NULL,
    lid          TEXT,
    name         TEXT,
    profile_name TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, jid),
    -- Pages in creation order, and the target of the (user, contact) foreign
    -- keys below, so that no row can point at another user's contact.
    UNIQUE (user_id, id)
);

-- A person who writes under their privacy id is found by it.
CREATE INDEX contacts_by_lid ON contacts (user_id, lid) WHERE lid IS NOT NULL;

CREATE TABLE conversations (
    id              BIGSERIAL   PRIMARY KEY,
    user_id         BIGINT      NOT NULL,
    contact_id      BIGINT      NOT NULL UNIQUE,
    started_at      TIMESTAMPTZ NOT NULL,
    last_message_at TIMESTAMPTZ,
    is_active       BOOLEAN     NOT NULL DEFAULT TRUE,
    FOREIGN KEY (user_id, contact_id) REFERENCES contacts (user_id, id) ON DELETE CASCADE
);

-- Most recently active first, never active last.
CREATE INDEX conversations_recent
    ON conversations (user_id, last_message_at DESC NULLS LAST, id DESC);

CREATE TABLE messages (
    id           BIGSERIAL   PRIMARY KEY,
    user_id      BIGINT      NOT NULL,
    contact_id   BIGINT      NOT NULL,
    key_id       TEXT        NOT NULL,
    is_outbound  BOOLEAN     NOT NULL,
    message_type TEXT        NOT NULL,
    content      TEXT,
    status       TEXT        NOT NULL,
    timestamp    TIMESTAMPTZ NOT NULL,
    -- The dedup: each user has exactly one instance, so this is the
    -- per-instance uniqueness of API.md, whichever source brings the message.
    UNIQUE (user_id, key_id),
    FOREIGN KEY (user_id, contact_id) REFERENCES contacts (user_id, id) ON DELETE CASCADE
);

-- A contact's messages, newest first (by timestamp, then id).
CREATE INDEX messages_of_contact ON messages (user_id, contact_id, timestamp DESC, id DESC);
-- A user's messages, newest first; the direction rides along so that stats
-- count inbound and outbound from the index alone.
CREATE INDEX messages_of_user
    ON messages (user_id, timestamp DESC, id DESC) INCLUDE (is_outbound);

-- A status update whose message is not stored yet (Evolution may deliver the
-- ack before the message). The most advanced one waits here and is applied,
-- then deleted, by the insert of its message.
CREATE TABLE status_stash (
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_id     TEXT        NOT NULL,
    status     TEXT        NOT NULL,
    -- Last stashed: updates of messages that never come (groups, broadcasts)
    -- are dropped after a while.
    stashed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, key_id)
);

CREATE INDEX status_stash_expiry ON status_stash (user_id, stashed_at);
