//! History sync runs (API.md "Sync"): a run fans out to one job per chat, and
//! the jobs report back here. Counters are exact under concurrency, a chat is
//! counted once however often its job runs (SQS is at-least-once), and the
//! run is `done` exactly when every chat has finished one way or the other.
//!
//! Two things a job cannot be trusted with: its own count of new messages (a
//! rerun after its page was stored finds nothing new), so each newly stored
//! message is tallied to its (run, chat) in the transaction that stores it
//! and the report counts the tally; and reporting at all (a job lost to the
//! DLQ, a killed Lambda), so a run with no progress for `stale_after` is
//! finished by the next start or read, its unreported chats counted failed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ContactId, Inserted, NewMessage, StoreResult};
use crate::domain::UserId;

/// Our id of a sync run: a JSON-safe integer, like every row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SyncId(i64);

impl SyncId {
    pub const fn new(raw: i64) -> Self {
        Self(raw)
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for SyncId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    Running,
    /// Every chat finished (some may have failed for good).
    Done,
}

impl SyncState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Done => "done",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRun {
    pub id: SyncId,
    pub user_id: UserId,
    pub state: SyncState,
    pub chats_total: u32,
    pub chats_done: u32,
    pub chats_failed: u32,
    /// Messages this run stored that were not stored before.
    pub messages_synced: u64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The start or the last counted chat report.
    pub progressed_at: DateTime<Utc>,
}

/// What a start did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncStart {
    /// A new run: enqueue its chats.
    Started(SyncRun),
    /// The user already has a running run: enqueue nothing.
    AlreadyRunning(SyncRun),
}

/// How one chat of a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatOutcome {
    /// Its page was stored: the messages tallied to the chat count.
    Done,
    /// It failed for good (a permanent error, or its last retry).
    Failed,
}

/// The (run, chat) that the messages a sync job stores are tallied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncTally {
    pub run: SyncId,
    /// The chat's contact, as the job names it.
    pub chat: ContactId,
}

/// A run with no progress (start or chat report) for this long is stale.
pub fn is_stale(run: &SyncRun, now: DateTime<Utc>, stale_after: std::time::Duration) -> bool {
    let after = chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::MAX);
    run.state == SyncState::Running && now.signed_duration_since(run.progressed_at) >= after
}

#[async_trait]
pub trait SyncRunStore: Send + Sync {
    /// Starts a run over `chats` chats, unless the user has a running one,
    /// which is returned instead (of concurrent starts exactly one starts).
    /// A running run that is stale (no progress for `stale_after`) is first
    /// finished as by [`latest_sync_run`](Self::latest_sync_run). A run of no
    /// chats is `done` at once.
    async fn start_sync_run(
        &self,
        user: UserId,
        chats: u32,
        now: DateTime<Utc>,
        stale_after: std::time::Duration,
    ) -> StoreResult<SyncStart>;
    /// Records how `contact`'s chat ended and returns the run after it. The
    /// first report of a chat counts, later ones change nothing, and so do
    /// reports to a run already `done`; a `Done` chat adds the messages
    /// tallied to it. The report that completes the count sets `done` and
    /// `finished_at`. [`StoreError::NotFound`](super::StoreError::NotFound)
    /// when the run is not the user's.
    async fn finish_sync_chat(
        &self,
        user: UserId,
        run: SyncId,
        contact: ContactId,
        outcome: ChatOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<SyncRun>;
    /// The user's most recent run, if any. A stale running run is finished
    /// first, atomically against late reports: `done` at `now`, its
    /// unreported chats counted failed.
    async fn latest_sync_run(
        &self,
        user: UserId,
        now: DateTime<Utc>,
        stale_after: std::time::Duration,
    ) -> StoreResult<Option<SyncRun>>;
    /// [`insert_messages`](super::MessageStore::insert_messages), and the
    /// messages it newly stores are tallied to `tally` in the same
    /// transaction, for the chat's report to count.
    async fn insert_sync_messages(
        &self,
        user: UserId,
        messages: &[NewMessage],
        tally: SyncTally,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Inserted>>;
}
