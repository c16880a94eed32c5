//! PostgreSQL: messages stored once per (user, key id) ([`batch`]), their
//! status ladder and its stash ([`status`]), pages newest first, and stats
//! from index-only counts.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PgStore;
use super::errors::map_err;
use crate::domain::{MessageStatus, MessageType, UserId};
use crate::store::{
    ContactId, Inserted, Message, MessageId, MessageStore, NewMessage, Page, Stats, StatusOutcome,
    StoreResult,
};

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    contact_id: i64,
    key_id: String,
    is_outbound: bool,
    message_type: String,
    content: Option<String>,
    status: String,
    timestamp: DateTime<Utc>,
}

impl From<MessageRow> for Message {
    fn from(r: MessageRow) -> Self {
        Self {
            id: MessageId::new(r.id),
            contact_id: ContactId::new(r.contact_id),
            key_id: r.key_id,
            is_outbound: r.is_outbound,
            message_type: MessageType::from_db(&r.message_type),
            content: r.content,
            status: MessageStatus::from_db(&r.status),
            timestamp: r.timestamp,
        }
    }
}

/// The columns of a `MessageRow`, as a literal so statements stay static.
macro_rules! columns {
    () => {
        "id, contact_id, key_id, is_outbound, message_type, content, status, timestamp"
    };
}

mod batch;
mod status;

#[async_trait]
impl MessageStore for PgStore {
    async fn insert_messages(
        &self,
        user: UserId,
        messages: &[NewMessage],
    ) -> StoreResult<Vec<Inserted>> {
        self.insert_batch(user, messages, None).await
    }

    async fn advance_status(
        &self,
        user: UserId,
        key_id: &str,
        status: MessageStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<StatusOutcome> {
        self.advance_or_stash(user, key_id, status, now).await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user, contact_id = %contact))]
    async fn messages_by_contact(
        &self,
        user: UserId,
        contact: ContactId,
        page: Page,
        before: Option<MessageId>,
    ) -> StoreResult<Vec<Message>> {
        const FIRST: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM messages WHERE user_id = $1 AND contact_id = $2
             ORDER BY timestamp DESC, id DESC OFFSET $3 LIMIT $4"
        );
        // An unknown `before` compares with NULLs and yields an empty page.
        const AFTER: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM messages WHERE user_id = $1 AND contact_id = $2
               AND (timestamp, id) < (SELECT timestamp, id FROM messages
                                      WHERE user_id = $1 AND id = $5)
             ORDER BY timestamp DESC, id DESC OFFSET $3 LIMIT $4"
        );
        self.run(move || {
            let query = sqlx::query_as(if before.is_some() { AFTER } else { FIRST })
                .bind(user.get())
                .bind(contact.get())
                .bind(i64::from(page.skip))
                .bind(i64::from(page.limit));
            let query = match before {
                Some(id) => query.bind(id.get()),
                None => query,
            };
            self.fetch_messages(query)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn messages_by_user(
        &self,
        user: UserId,
        page: Page,
        contact: Option<ContactId>,
    ) -> StoreResult<Vec<Message>> {
        if let Some(contact) = contact {
            return self.messages_by_contact(user, contact, page, None).await;
        }
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM messages WHERE user_id = $1
             ORDER BY timestamp DESC, id DESC OFFSET $2 LIMIT $3"
        );
        self.run(move || {
            let query = sqlx::query_as(sql)
                .bind(user.get())
                .bind(i64::from(page.skip))
                .bind(i64::from(page.limit));
            self.fetch_messages(query)
        })
        .await
    }

    /// Counts over the indexes that lead with `user_id` (no counter row that
    /// every insert of a user would queue on).
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn stats(&self, user: UserId) -> StoreResult<Stats> {
        let sql = "SELECT count(*), count(*) FILTER (WHERE is_outbound),
                     (SELECT count(*) FROM contacts WHERE user_id = $1),
                     (SELECT count(*) FROM conversations WHERE user_id = $1)
                   FROM messages WHERE user_id = $1";
        self.run(move || async move {
            let (messages, outbound, contacts, conversations): (i64, i64, i64, i64) =
                sqlx::query_as(sql)
                    .bind(user.get())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)?;
            let n = |v: i64| v.max(0) as u64;
            Ok(Stats {
                total_messages: n(messages),
                total_contacts: n(contacts),
                total_conversations: n(conversations),
                inbound_messages: n(messages - outbound),
                outbound_messages: n(outbound),
            })
        })
        .await
    }
}

impl PgStore {
    async fn fetch_messages(
        &self,
        query: sqlx::query::QueryAs<'_, sqlx::Postgres, MessageRow, sqlx::postgres::PgArguments>,
    ) -> StoreResult<Vec<Message>> {
        let rows = query.fetch_all(&self.pool).await.map_err(map_err)?;
        Ok(rows.into_iter().map(Message::from).collect())
    }
}
