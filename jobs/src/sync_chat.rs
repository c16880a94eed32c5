//! The per-chat history job: fetch the chat's newest messages, store them
//! through the insert-if-new path, count the chat in its sync run. Running it
//! twice changes nothing: the messages are already stored and the run counts
//! each chat once.

use std::sync::Arc;

use chrono::Utc;
use nolose_shared::AppState;
use nolose_shared::evolution::Evolution;
use nolose_shared::history::{HistoryError, sync_chat};
use nolose_shared::jobs::SyncChatHistory;
use nolose_shared::store::{ChatOutcome, Store, StoreError};

/// What a job needs: built once per process from the app's state.
#[derive(Clone)]
pub struct JobContext {
    pub store: Arc<dyn Store>,
    pub evolution: Arc<dyn Evolution>,
}

impl From<&AppState> for JobContext {
    fn from(state: &AppState) -> Self {
        Self {
            store: Arc::clone(&state.store),
            evolution: Arc::clone(&state.evolution),
        }
    }
}

/// Why a run failed, typed by what the transport should do about it.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Timeouts, 5xx, 429, store unavailable: try again later.
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
    /// 4xx, instance gone, a broken invariant: retrying cannot help.
    #[error("permanent: {0:#}")]
    Permanent(anyhow::Error),
}

impl From<HistoryError> for JobError {
    fn from(e: HistoryError) -> Self {
        if e.is_transient() {
            Self::Transient(e.into())
        } else {
            Self::Permanent(e.into())
        }
    }
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        HistoryError::Store(e).into()
    }
}

/// Runs the job once; returns how many messages were new.
#[tracing::instrument(skip_all, fields(user_id = %job.user_id, sync_id = %job.sync_id, contact_id = %job.contact_id))]
pub async fn run(job: &SyncChatHistory, ctx: &JobContext) -> Result<u64, JobError> {
    let ingested = sync_chat(
        ctx.evolution.as_ref(),
        ctx.store.as_ref(),
        job.user_id,
        &job.instance,
        &job.remote_jid,
        job.limit,
    )
    .await?;
    let new_messages = ingested.new_count() as u64;
    ctx.store
        .finish_sync_chat(
            job.user_id,
            job.sync_id,
            job.contact_id,
            ChatOutcome::Done { new_messages },
            Utc::now(),
        )
        .await?;
    Ok(new_messages)
}

/// Whether the transport may deliver this job again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// A transient failure will be retried.
    NotLast,
    /// No retry follows: a failure now is the chat's final outcome.
    Last,
}

/// What the transport should do with the job now.
#[derive(Debug)]
pub enum Disposition {
    /// Finished (succeeded, or its failure is recorded): acknowledge it.
    Finished,
    /// Deliver it again later.
    Retry(JobError),
}

/// Runs the job and applies the retry policy: the one place that decides
/// between "retry" and "record the chat as failed".
pub async fn handle(job: &SyncChatHistory, ctx: &JobContext, attempt: Attempt) -> Disposition {
    let err = match run(job, ctx).await {
        Ok(_) => return Disposition::Finished,
        Err(err) => err,
    };
    if matches!(err, JobError::Transient(_)) && attempt == Attempt::NotLast {
        tracing::info!(error = %err, "chat sync failed, will retry");
        return Disposition::Retry(err);
    }
    tracing::warn!(error = %err, "chat sync failed for good");
    let recorded = ctx
        .store
        .finish_sync_chat(
            job.user_id,
            job.sync_id,
            job.contact_id,
            ChatOutcome::Failed,
            Utc::now(),
        )
        .await;
    match recorded {
        Ok(_) | Err(StoreError::NotFound) => Disposition::Finished,
        // The failure itself could not be recorded: keep the job around.
        Err(e) => Disposition::Retry(JobError::Transient(e.into())),
    }
}
