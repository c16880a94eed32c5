//! PostgreSQL: sync runs. A chat's end is one statement: the insert of its
//! `sync_run_chats` row (which a repeated report cannot repeat) feeds the
//! counter update, so a chat counts once, and the row lock of the update
//! makes concurrent counts exact and lets exactly one of them see the run
//! complete and set `done`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PgStore;
use super::errors::map_err;
use crate::domain::UserId;
use crate::store::{
    ChatOutcome, ContactId, StoreError, StoreResult, SyncId, SyncRun, SyncRunStore, SyncStart,
    SyncState,
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
        }
    }
}

/// The columns of a `RunRow`, as a literal so statements stay static.
macro_rules! columns {
    () => {
        "id, user_id, state, chats_total, chats_done, chats_failed, \
         messages_synced, started_at, finished_at"
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
            "INSERT INTO sync_runs (user_id, state, chats_total, started_at, finished_at)
             VALUES ($1, CASE WHEN $2 = 0 THEN 'done' ELSE 'running' END, $2, $3,
                     CASE WHEN $2 = 0 THEN $3 END)
             ON CONFLICT (user_id) WHERE state = 'running' DO NOTHING
             RETURNING ",
            columns!()
        );
        self.run(move || async move {
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
        let (done, failed, messages): (i32, i32, u64) = match outcome {
            ChatOutcome::Done { new_messages } => (1, 0, new_messages),
            ChatOutcome::Failed => (0, 1, 0),
        };
        let sql = concat!(
            "WITH owned AS (
                 SELECT id FROM sync_runs WHERE id = $1 AND user_id = $2
             ), mark AS (
                 INSERT INTO sync_run_chats (sync_id, contact_id, failed)
                 SELECT id, $3, $5 = 1 FROM owned
                 ON CONFLICT DO NOTHING
                 RETURNING sync_id
             )
             UPDATE sync_runs SET
                 chats_done = chats_done + $4,
                 chats_failed = chats_failed + $5,
                 messages_synced = messages_synced + $6,
                 state = CASE WHEN chats_done + chats_failed + 1 >= chats_total
                              THEN 'done' ELSE state END,
                 finished_at = CASE WHEN chats_done + chats_failed + 1 >= chats_total
                                    THEN COALESCE(finished_at, $7) ELSE finished_at END
             WHERE id IN (SELECT sync_id FROM mark)
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
                .bind(i64::try_from(messages).unwrap_or(i64::MAX))
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
    async fn latest_sync_run(&self, user: UserId) -> StoreResult<Option<SyncRun>> {
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
}

impl PgStore {
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
