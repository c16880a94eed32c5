//! Background jobs as data, and the port that queues them. A job is plain
//! serde data so that any transport carries it: SQS in AWS (the `sqs`
//! adapter here), apalis on PostgreSQL locally (in `nolose-jobs`). What a
//! job does lives in `nolose-jobs`; what it is lives here, because the
//! handlers that enqueue it must not depend on the worker.

#[cfg(feature = "sqs")]
pub mod sqs;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::{InstanceName, UserId};
use crate::store::{ContactId, SyncId};

/// Fetch one chat's most recent `limit` messages into the store and report
/// to sync run `sync_id` (ARCHITECTURE.md, Jobs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncChatHistory {
    pub user_id: UserId,
    pub instance: InstanceName,
    pub sync_id: SyncId,
    pub contact_id: ContactId,
    pub remote_jid: String,
    pub limit: u32,
}

/// Queuing failed for these jobs (the others, if any, are queued).
#[derive(Debug, thiserror::Error)]
#[error("{} job(s) could not be queued", .not_queued.len())]
pub struct EnqueueError {
    pub not_queued: Vec<SyncChatHistory>,
    #[source]
    pub cause: anyhow::Error,
}

#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Queues every job durably before returning; on error, names the jobs
    /// that are not queued so the caller can account for them.
    async fn enqueue_many(&self, jobs: Vec<SyncChatHistory>) -> Result<(), EnqueueError>;

    /// Answers when the queue is reachable (readiness probe).
    async fn ping(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The queue of a deployment that has none (every Lambda but `sync`): any
/// enqueue fails with an error that says so, instead of losing the jobs.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoQueue;

#[async_trait]
impl JobQueue for NoQueue {
    async fn enqueue_many(&self, jobs: Vec<SyncChatHistory>) -> Result<(), EnqueueError> {
        Err(EnqueueError {
            not_queued: jobs,
            cause: anyhow::anyhow!(
                "this deployment has no job queue (SYNC_QUEUE_URL unset, or no worker)"
            ),
        })
    }
}
