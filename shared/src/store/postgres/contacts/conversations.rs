//! PostgreSQL: one conversation per contact, whose `last_message_at` only
//! moves forward; paged most recently active first.

use chrono::{DateTime, Utc};

use crate::domain::UserId;
use crate::store::postgres::PgStore;
use crate::store::postgres::errors::map_err;
use crate::store::{ContactId, Conversation, ConversationId, Page, StoreResult};

#[derive(sqlx::FromRow)]
struct ConversationRow {
    id: i64,
    contact_id: i64,
    started_at: DateTime<Utc>,
    last_message_at: Option<DateTime<Utc>>,
    is_active: bool,
}

impl From<ConversationRow> for Conversation {
    fn from(r: ConversationRow) -> Self {
        Self {
            id: ConversationId::new(r.id),
            contact_id: ContactId::new(r.contact_id),
            started_at: r.started_at,
            last_message_at: r.last_message_at,
            is_active: r.is_active,
        }
    }
}

macro_rules! conversation_columns {
    () => {
        "id, contact_id, started_at, last_message_at, is_active"
    };
}

/// Same shape as [`UPSERT_CONTACT`](super::UPSERT_CONTACT); the composite foreign key refuses a
/// contact of another user.
///
/// A move of `last_message_at` commits without waiting for its WAL flush
/// (`synchronous_commit` off for this statement's transaction only). With
/// every webhook of one busy chat updating this one row, each would
/// otherwise hold the row lock across an fsync and they would queue one
/// flush at a time. It is safe because the ingest path that moves it stores
/// the message next, with a synchronous commit, and WAL is flushed in order:
/// when the webhook is answered both are durable. At worst a crash in
/// between forgets the move (the order of the conversation page), never a
/// message; creating a conversation without a message stays synchronous.
const UPSERT_CONVERSATION: &str = concat!(
    "WITH stored AS (SELECT ",
    conversation_columns!(),
    " FROM conversations WHERE contact_id = $2 AND user_id = $1),
     written AS (
       INSERT INTO conversations AS c (user_id, contact_id, started_at, last_message_at)
       SELECT $1, $2, $4, $3
       WHERE NOT EXISTS (SELECT 1 FROM stored
                         WHERE $3::timestamptz IS NULL OR last_message_at >= $3)
         AND ($3::timestamptz IS NULL
              OR set_config('synchronous_commit', 'off', true) = 'off')
       ON CONFLICT (contact_id) DO UPDATE SET
         last_message_at = GREATEST(c.last_message_at, EXCLUDED.last_message_at)
       RETURNING ",
    conversation_columns!(),
    ")
     SELECT * FROM written
     UNION ALL SELECT * FROM stored WHERE NOT EXISTS (SELECT 1 FROM written)"
);

impl PgStore {
    #[tracing::instrument(skip_all, fields(user_id = %user, contact_id = %contact))]
    pub(super) async fn save_conversation(
        &self,
        user: UserId,
        contact: ContactId,
        last_message_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<Conversation> {
        self.run(move || async move {
            let row: ConversationRow = sqlx::query_as(UPSERT_CONVERSATION)
                .bind(user.get())
                .bind(contact.get())
                .bind(last_message_at)
                .bind(now)
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(row.into())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    pub(super) async fn conversations_by_activity(
        &self,
        user: UserId,
        page: Page,
    ) -> StoreResult<Vec<Conversation>> {
        let sql = concat!(
            "SELECT ",
            conversation_columns!(),
            " FROM conversations WHERE user_id = $1
             ORDER BY last_message_at DESC NULLS LAST, id DESC OFFSET $2 LIMIT $3"
        );
        self.run(move || async move {
            let rows: Vec<ConversationRow> = sqlx::query_as(sql)
                .bind(user.get())
                .bind(i64::from(page.skip))
                .bind(i64::from(page.limit))
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(rows.into_iter().map(Conversation::from).collect())
        })
        .await
    }
}
