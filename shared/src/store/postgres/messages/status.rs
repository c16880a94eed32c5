//! PostgreSQL: the one-way status ladder ([`MessageStatus::advance`]) and the
//! stash of updates that arrive before their message.
//!
//! The race that matters: an update finds no message and stashes, while the
//! insert of that message looks for a stash. Each checks before the other
//! has committed, so neither would see the other and the update would be
//! lost. Both therefore take a transaction-scoped advisory lock on
//! (user, key) first: whoever comes second waits, and its next statement
//! sees what the first committed. Updates of a stored message (the usual
//! case) need no lock: a compare-and-set on the status is enough.

use chrono::{DateTime, Utc};
use sqlx::Acquire;
use sqlx::PgConnection;

use crate::domain::{MessageStatus, UserId};
use crate::store::postgres::PgStore;
use crate::store::postgres::errors::map_err;
use crate::store::{STASH_TTL, StatusOutcome, StoreResult};

/// Locks (user, key) for each key until the transaction ends, in one order
/// (sorted, duplicates dropped) so that overlapping batches cannot deadlock.
/// A hash collision only makes two keys wait for each other.
pub(super) async fn lock_keys(
    conn: &mut PgConnection,
    user: UserId,
    keys: &[&str],
) -> StoreResult<()> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(k)
         FROM (SELECT DISTINCT hashtextextended(key, $1) AS k FROM unnest($2::text[]) AS key) ks
         ORDER BY k",
    )
    .bind(user.get())
    .bind(keys)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Stashed updates that an insert found for its new messages: their keys,
/// and the messages they move.
#[derive(Default)]
pub(super) struct StashTaken {
    pub keys: Vec<String>,
    pub moved: Vec<(i64, MessageStatus)>,
}

impl StashTaken {
    /// Uses the stash up and moves the messages in one statement, inside the
    /// insert's transaction (rare: only when an update came first).
    pub(super) async fn apply(&self, conn: &mut PgConnection, user: UserId) -> StoreResult<()> {
        let (ids, statuses): (Vec<i64>, Vec<&str>) =
            self.moved.iter().map(|(id, s)| (*id, s.as_str())).unzip();
        sqlx::query(
            "WITH taken AS (DELETE FROM status_stash WHERE user_id = $1 AND key_id = ANY($2))
             UPDATE messages m SET status = u.status
             FROM unnest($3::bigint[], $4::text[]) AS u(id, status) WHERE m.id = u.id",
        )
        .bind(user.get())
        .bind(&self.keys)
        .bind(&ids)
        .bind(&statuses)
        .execute(conn)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}

impl PgStore {
    /// The stored message moves without a lock; only when it is missing
    /// does the call lock (user, key), look again, and stash.
    #[tracing::instrument(skip_all, fields(user_id = %user, status = status.as_str()))]
    pub(super) async fn advance_or_stash(
        &self,
        user: UserId,
        key_id: &str,
        status: MessageStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<StatusOutcome> {
        self.run(move || async move {
            let mut conn = self.pool.acquire().await.map_err(map_err)?;
            if let Some(outcome) = advance_stored(&mut conn, user, key_id, status).await? {
                return Ok(outcome);
            }
            let mut tx = conn.begin().await.map_err(map_err)?;
            lock_keys(&mut tx, user, &[key_id]).await?;
            let outcome = match advance_stored(&mut tx, user, key_id, status).await? {
                Some(outcome) => outcome,
                None => {
                    stash(&mut tx, user, key_id, status, now).await?;
                    StatusOutcome::Stashed
                }
            };
            tx.commit().await.map_err(map_err)?;
            Ok(outcome)
        })
        .await
    }
}

/// `None` when the message is not stored. The compare-and-set names the
/// status as read; when a concurrent update moved it in between, read again
/// (statuses only move forward, so this ends within a few rounds).
async fn advance_stored(
    conn: &mut PgConnection,
    user: UserId,
    key_id: &str,
    update: MessageStatus,
) -> StoreResult<Option<StatusOutcome>> {
    loop {
        let stored: Option<(i64, String, bool)> = sqlx::query_as(
            "SELECT id, status, is_outbound FROM messages WHERE user_id = $1 AND key_id = $2",
        )
        .bind(user.get())
        .bind(key_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?;
        let Some((id, read, outbound)) = stored else {
            return Ok(None);
        };
        let Some(next) = MessageStatus::from_db(&read).advance(update, !outbound) else {
            return Ok(Some(StatusOutcome::Unchanged));
        };
        let moved = sqlx::query("UPDATE messages SET status = $3 WHERE id = $1 AND status = $2")
            .bind(id)
            .bind(&read)
            .bind(next.as_str())
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
        if moved.rows_affected() == 1 {
            return Ok(Some(StatusOutcome::Advanced(next)));
        }
    }
}

/// Keeps the most advanced update. Whether the message will be inbound is
/// not known yet, so updates compare by the outbound ladder; the inbound
/// rules apply when the message arrives. Runs under the key's lock, and
/// drops the user's updates that waited longer than [`STASH_TTL`].
async fn stash(
    conn: &mut PgConnection,
    user: UserId,
    key_id: &str,
    update: MessageStatus,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let stashed: Option<String> =
        sqlx::query_scalar("SELECT status FROM status_stash WHERE user_id = $1 AND key_id = $2")
            .bind(user.get())
            .bind(key_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
    let keep = match stashed.as_deref().map(MessageStatus::from_db) {
        Some(earlier) => earlier.advance(update, false).unwrap_or(earlier),
        None => update,
    };
    sqlx::query(
        "WITH expired AS (
           DELETE FROM status_stash WHERE user_id = $1 AND stashed_at < $5 AND key_id <> $2)
         INSERT INTO status_stash (user_id, key_id, status, stashed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, key_id) DO UPDATE
           SET status = EXCLUDED.status, stashed_at = EXCLUDED.stashed_at",
    )
    .bind(user.get())
    .bind(key_id)
    .bind(keep.as_str())
    .bind(now)
    .bind(now - STASH_TTL)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}
