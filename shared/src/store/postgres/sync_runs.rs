//! PostgreSQL: sync runs. A chat's end is one statement: the insert of its
//! `sync_run_chats` row (which a repeated report cannot repeat) feeds the
//! counter update, so a chat counts once, and the row lock of the update
//! makes concurrent counts exact and lets exactly one of them see the run
//! complete and set `done`. The update also requires the run to be still
//! `running`, re-checked under that row lock, so a report racing the stale
//! finish either counts before it or not at all. The chat's messages come
//! from its `sync_run_tallies` row, which the insert transaction feeds.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PgStore;
use super::errors::map_err;
use crate::domain::UserId;
use crate::store::{
    ChatOutcome, ContactId, Inserted, NewMessage, StoreError, StoreResult, SyncId, SyncRun,
    SyncRunStore, SyncStart, SyncState, SyncTally, is_stale,
};

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    user_id: i64,
    state: String,
    chats_total: i32,
    chats_done: i32,
    chats_failed: i32,
    messages_synced: i64,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    progressed_at: DateTime<Utc>,
}

impl From<RunRow> for SyncRun {
    fn from(r: RunRow) -> Self {
        Self {
            id: SyncId::new(r.id),
            user_id: UserId::new(r.user_id),
            state: if r.state == "done" {
                SyncState::Done
            } else {
                SyncState::Running
            },
            chats_total: r.chats_total.max(0) as u32,
            chats_done: r.chats_done.max(0) as u32,
            chats_failed: r.chats_failed.max(0) as u32,
            messages_synced: r.messages_synced.max(0) as u64,
            started_at: r.started_at,
            finished_at: r.finished_at,
            progressed_at: r.progressed_at,
        }
    }
}

/// The columns of a `RunRow`, as a literal so statements stay static.
macro_rules! columns {
    () => {
        "id, user_id, state, chats_total, chats_done, chats_failed, \
         messages_synced, started_at, finished_at, progressed_at"
    };
}

/// Rounds of "no running run, but the insert conflicted": each means a run
/// was started and finished in between, which cannot keep happening.
const START_ATTEMPTS: usize = 5;

#[async_trait]
impl SyncRunStore for PgStore {
    #[tracing::instrument(skip_all, fields(user_id = %user, chats))]
    async fn start_sync_run(
        &self,
        user: UserId,
        chats: u32,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> StoreResult<SyncStart> {
        let running = concat!(
            "SELECT ",
            columns!(),
            " FROM sync_runs WHERE user_id = $1 AND state = 'running'"
        );
        // The partial unique index admits one running run per user: of two
        // concurrent starts, the loser's insert does nothing and it returns
        // the winner's run.
        let insert = concat!(
            "INSERT INTO sync_runs (user_id, state, chats_total, started_at, finished_at,
                                    progressed_at)
             VALUES ($1, CASE WHEN $2 = 0 THEN 'done' ELSE 'running' END, $2, $3,
                     CASE WHEN $2 = 0 THEN $3 END, $3)
             ON CONFLICT (user_id) WHERE state = 'running' DO NOTHING
             RETURNING ",
            columns!()
        );
        self.run(move || async move {
            self.finish_stale(user, now, stale_after).await?;
            for _ in 0..START_ATTEMPTS {
                let found: Option<RunRow> = sqlx::query_as(running)
                    .bind(user.get())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                if let Some(row) = found {
                    return Ok(SyncStart::AlreadyRunning(row.into()));
                }
                let inserted: Option<RunRow> = sqlx::query_as(insert)
                    .bind(user.get())
                    .bind(i32::try_from(chats).unwrap_or(i32::MAX))
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                if let Some(row) = inserted {
                    return Ok(SyncStart::Started(row.into()));
                }
            }
            Err(StoreError::Unavailable(anyhow::anyhow!(
                "sync runs kept starting and finishing under {START_ATTEMPTS} attempts"
            )))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user, sync_id = %run, contact_id = %contact))]
    async fn finish_sync_chat(
        &self,
        user: UserId,
        run: SyncId,
        contact: ContactId,
        outcome: ChatOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<SyncRun> {
        let (done, failed): (i32, i32) = match outcome {
            ChatOutcome::Done => (1, 0),
            ChatOutcome::Failed => (0, 1),
        };
        // A report to a run no longer running inserts no marker and counts
        // nothing; one racing the stale finish is re-checked by the UPDATE
        // under the row lock (its marker then stays, uncounted: harmless).
        let sql = concat!(
            "WITH owned AS (
                 SELECT id FROM sync_runs WHERE id = $1 AND user_id = $2 AND state = 'running'
             ), mark AS (
                 INSERT INTO sync_run_chats (sync_id, contact_id, failed)
                 SELECT id, $3, $5 = 1 FROM owned
                 ON CONFLICT DO NOTHING
                 RETURNING sync_id
             )
             UPDATE sync_runs SET
                 chats_done = chats_done + $4,
                 chats_failed = chats_failed + $5,
                 messages_synced = messages_synced + COALESCE(
                     (SELECT stored FROM sync_run_tallies WHERE sync_id = $1 AND contact_id = $3), 0),
                 progressed_at = GREATEST(progressed_at, $6),
                 state = CASE WHEN chats_done + chats_failed + 1 >= chats_total
                              THEN 'done' ELSE state END,
                 finished_at = CASE WHEN chats_done + chats_failed + 1 >= chats_total
                                    THEN COALESCE(finished_at, $6) ELSE finished_at END
             WHERE id IN (SELECT sync_id FROM mark) AND state = 'running'
             RETURNING ",
            columns!()
        );
        self.run(move || async move {
            let counted: Option<RunRow> = sqlx::query_as(sql)
                .bind(run.get())
                .bind(user.get())
                .bind(contact.get())
                .bind(done)
                .bind(failed)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
            match counted {
                Some(row) => Ok(row.into()),
                // Already counted, or not the user's run.
                None => self.run_of(user, run).await?.ok_or(StoreError::NotFound),
            }
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user))]
    async fn latest_sync_run(
        &self,
        user: UserId,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> StoreResult<Option<SyncRun>> {
        self.run(move || async move {
            let latest = self.latest_of(user).await?;
            match latest {
                Some(run) if is_stale(&run, now, stale_after) => {
                    self.finish_stale(user, now, stale_after).await?;
                    self.latest_of(user).await
                }
                other => Ok(other),
            }
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user, sync_id = %tally.run, count = messages.len()))]
    async fn insert_sync_messages(
        &self,
        user: UserId,
        messages: &[NewMessage],
        tally: SyncTally,
        _now: DateTime<Utc>,
    ) -> StoreResult<Vec<Inserted>> {
        self.insert_batch(user, messages, Some(tally)).await
    }
}

impl PgStore {
    async fn latest_of(&self, user: UserId) -> StoreResult<Option<SyncRun>> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM sync_runs WHERE user_id = $1 ORDER BY id DESC LIMIT 1"
        );
        self.run(move || async move {
            let row: Option<RunRow> = sqlx::query_as(sql)
                .bind(user.get())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(row.map(SyncRun::from))
        })
        .await
    }

    /// Finishes the user's running run if it made no progress since
    /// `now - stale_after`: one statement, so a chat report lands wholly
    /// before it (and moves `progressed_at`, keeping the run) or after it
    /// (and counts nothing). Its unreported chats count as failed.
    async fn finish_stale(
        &self,
        user: UserId,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> StoreResult<()> {
        let after = chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::MAX);
        let Some(cutoff) = now.checked_sub_signed(after) else {
            return Ok(());
        };
        let finished = sqlx::query(
            "UPDATE sync_runs SET state = 'done', chats_failed = chats_total - chats_done,
                 finished_at = $2
             WHERE user_id = $1 AND state = 'running' AND progressed_at <= $3",
        )
        .bind(user.get())
        .bind(now)
        .bind(cutoff)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if finished.rows_affected() > 0 {
            tracing::warn!(user_id = %user, "finished a stale sync run");
        }
        Ok(())
    }

    async fn run_of(&self, user: UserId, run: SyncId) -> StoreResult<Option<SyncRun>> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM sync_runs WHERE id = $1 AND user_id = $2"
        );
        let row: Option<RunRow> = sqlx::query_as(sql)
            .bind(run.get())
            .bind(user.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(row.map(SyncRun::from))
    }
}
