//! The per-chat history job: fetch the chat's newest messages, store them
//! through the insert-if-new path (tallied to the job's run and chat as they
//! are stored), count the chat in its sync run. Running it twice changes
//! nothing: the messages are already stored, the run counts each chat once,
//! and it counts the chat's tally rather than what this run found new.

use std::sync::Arc;

use nolose_shared::AppState;
use nolose_shared::evolution::Evolution;
use nolose_shared::history::{ChatPage, HistoryError, sync_chat};
use nolose_shared::jobs::SyncChatHistory;
use nolose_shared::store::{ChatOutcome, Store, StoreError, SyncTally};
use nolose_shared::time::Clock;

/// What a job needs: built once per process from the app's state.
#[derive(Clone)]
pub struct JobContext {
    pub store: Arc<dyn Store>,
    pub evolution: Arc<dyn Evolution>,
    pub clock: Arc<dyn Clock>,
}

impl From<&AppState> for JobContext {
    fn from(state: &AppState) -> Self {
        Self {
            store: Arc::clone(&state.store),
            evolution: Arc::clone(&state.evolution),
            clock: Arc::clone(&state.clock),
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

/// Runs the job once; returns how many messages this run found new (the
/// sync run counts the chat's tally, which a rerun does not lower).
#[tracing::instrument(skip_all, fields(user_id = %job.user_id, sync_id = %job.sync_id, contact_id = %job.contact_id))]
pub async fn run(job: &SyncChatHistory, ctx: &JobContext) -> Result<u64, JobError> {
    let page = ChatPage {
        user: job.user_id,
        instance: &job.instance,
        remote_jid: &job.remote_jid,
        limit: job.limit,
        tally: Some(SyncTally {
            run: job.sync_id,
            chat: job.contact_id,
        }),
    };
    let ingested = sync_chat(
        ctx.evolution.as_ref(),
        ctx.store.as_ref(),
        page,
        ctx.clock.now(),
    )
    .await?;
    ctx.store
        .finish_sync_chat(
            job.user_id,
            job.sync_id,
            job.contact_id,
            ChatOutcome::Done,
            ctx.clock.now(),
        )
        .await?;
    Ok(ingested.new_count() as u64)
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
            ctx.clock.now(),
        )
        .await;
    match recorded {
        Ok(_) | Err(StoreError::NotFound) => Disposition::Finished,
        // The failure itself could not be recorded: keep the job around.
        Err(e) => Disposition::Retry(JobError::Transient(e.into())),
    }
}
