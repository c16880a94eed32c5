//! PostgreSQL: contacts (one per user and JID) and their conversations (one
//! per contact). Both upserts run on every webhook, so each is one statement
//! that writes only when it changes something: a webhook repeating what is
//! stored (the usual case) costs a read, takes no row lock and has nothing
//! to flush at commit.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PgStore;
use super::errors::map_err;
use crate::domain::{Jid, UserId};
use crate::store::{
    Contact, ContactId, ContactStore, ContactUpsert, Conversation, Page, StoreError, StoreResult,
};

#[derive(sqlx::FromRow)]
struct ContactRow {
    id: i64,
    user_id: i64,
    jid: String,
    lid: Option<String>,
    name: Option<String>,
    profile_name: Option<String>,
    created_at: DateTime<Utc>,
}

impl ContactRow {
    fn into_contact(self) -> StoreResult<Contact> {
        let jid = |s: &str| {
            Jid::parse(s).map_err(|e| StoreError::Backend(anyhow::anyhow!("stored jid: {e}")))
        };
        Ok(Contact {
            id: ContactId::new(self.id),
            user_id: UserId::new(self.user_id),
            jid: jid(&self.jid)?,
            lid: self.lid.as_deref().map(jid).transpose()?,
            name: self.name,
            profile_name: self.profile_name,
            created_at: self.created_at,
        })
    }
}

macro_rules! contact_columns {
    () => {
        "id, user_id, jid, lid, name, profile_name, created_at"
    };
}

mod conversations;

/// `stored` is the row as this statement's snapshot sees it; the insert runs
/// only when there is none or a given field differs, and its `ON CONFLICT`
/// makes concurrent creations of one JID meet on one row (a row committed
/// after the snapshot is caught there, locked, and returned updated).
const UPSERT_CONTACT: &str = concat!(
    "WITH stored AS (SELECT ",
    contact_columns!(),
    " FROM contacts WHERE user_id = $1 AND jid = $2),
     written AS (
       INSERT INTO contacts AS c (user_id, jid, lid, name, profile_name, created_at)
       SELECT $1, $2, $3, $4, $5, $6
       WHERE NOT EXISTS (SELECT 1 FROM stored
                         WHERE ($3::text IS NULL OR lid = $3)
                           AND ($4::text IS NULL OR name = $4)
                           AND ($5::text IS NULL OR profile_name = $5))
       ON CONFLICT (user_id, jid) DO UPDATE SET
         lid = COALESCE(EXCLUDED.lid, c.lid),
         name = COALESCE(EXCLUDED.name, c.name),
         profile_name = COALESCE(EXCLUDED.profile_name, c.profile_name)
       RETURNING ",
    contact_columns!(),
    ")
     SELECT * FROM written
     UNION ALL SELECT * FROM stored WHERE NOT EXISTS (SELECT 1 FROM written)"
);

#[async_trait]
impl ContactStore for PgStore {
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn upsert_contact(&self, user: UserId, contact: &ContactUpsert) -> StoreResult<Contact> {
        self.run(move || async move {
            let row: ContactRow = sqlx::query_as(UPSERT_CONTACT)
                .bind(user.get())
                .bind(contact.jid.as_str())
                .bind(contact.lid.as_ref().map(Jid::as_str))
                .bind(&contact.name)
                .bind(&contact.profile_name)
                .bind(contact.now)
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
            row.into_contact()
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn contact_by_id(&self, user: UserId, id: ContactId) -> StoreResult<Option<Contact>> {
        let sql = concat!(
            "SELECT ",
            contact_columns!(),
            " FROM contacts WHERE user_id = $1 AND id = $2"
        );
        self.run(move || self.fetch_contact(sqlx::query_as(sql).bind(user.get()).bind(id.get())))
            .await
    }

    /// A JID match wins over a LID match should both exist. Two lookups,
    /// each on its own index, rather than one `OR` a plan may serve by
    /// reading every contact of the user.
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn contact_by_jid(&self, user: UserId, jid: &Jid) -> StoreResult<Option<Contact>> {
        let sql = concat!(
            "SELECT ",
            contact_columns!(),
            " FROM (SELECT *, 0 AS rank FROM contacts WHERE user_id = $1 AND jid = $2
                   UNION ALL
                   (SELECT *, 1 FROM contacts WHERE user_id = $1 AND lid = $2 ORDER BY id LIMIT 1)
             ) found ORDER BY rank LIMIT 1"
        );
        self.run(move || {
            self.fetch_contact(sqlx::query_as(sql).bind(user.get()).bind(jid.as_str()))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn contacts_page(&self, user: UserId, page: Page) -> StoreResult<Vec<Contact>> {
        let sql = concat!(
            "SELECT ",
            contact_columns!(),
            " FROM contacts WHERE user_id = $1 ORDER BY id OFFSET $2 LIMIT $3"
        );
        self.run(move || async move {
            let rows: Vec<ContactRow> = sqlx::query_as(sql)
                .bind(user.get())
                .bind(i64::from(page.skip))
                .bind(i64::from(page.limit))
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
            rows.into_iter().map(ContactRow::into_contact).collect()
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn count_contacts(&self, user: UserId) -> StoreResult<u64> {
        self.run(move || async move {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM contacts WHERE user_id = $1")
                .bind(user.get())
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(n.max(0) as u64)
        })
        .await
    }

    async fn upsert_conversation(
        &self,
        user: UserId,
        contact: ContactId,
        last_message_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<Conversation> {
        self.save_conversation(user, contact, last_message_at, now)
            .await
    }

    async fn conversations_page(&self, user: UserId, page: Page) -> StoreResult<Vec<Conversation>> {
        self.conversations_by_activity(user, page).await
    }
}

impl PgStore {
    async fn fetch_contact(
        &self,
        query: sqlx::query::QueryAs<'_, sqlx::Postgres, ContactRow, sqlx::postgres::PgArguments>,
    ) -> StoreResult<Option<Contact>> {
        let row = query.fetch_optional(&self.pool).await.map_err(map_err)?;
        row.map(ContactRow::into_contact).transpose()
    }
}
