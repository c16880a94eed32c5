//! One chat's recent history into the store: the step the per-chat sync job
//! and the synchronous `POST /sync/messages/{contact_id}` share. Evolution
//! ignores `limit` (EVOLUTION.md §3.1), so the page size travels as `offset`
//! with `page: 1`; the page goes through the webhook's insert-if-new path,
//! so a message that arrived by webhook is not stored twice, nor the other
//! way round. A sync job's page is tallied to its (run, chat) as it is
//! stored, so the run counts it even if the job dies before reporting.

use chrono::{DateTime, Utc};

use crate::domain::{InstanceName, UserId};
use crate::evolution::message::{is_protocol, parse_record};
use crate::evolution::{Evolution, EvolutionError};
use crate::ingest::{Ingested, ingest_messages, ingest_sync_messages};
use crate::store::{Store, StoreError, SyncTally};

/// Why a chat could not be fetched or stored.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(transparent)]
    Evolution(#[from] EvolutionError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl HistoryError {
    /// Worth retrying later: Evolution timeouts, 5xx and 429, or a store
    /// that is unavailable. The rest (4xx, instance gone, a bug) fails for good.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Evolution(e) => e.is_transient(),
            Self::Store(e) => matches!(e, StoreError::Unavailable(_)),
        }
    }
}

/// Which chat to fetch, how much of it, and the sync run it is for (none
/// for the synchronous route).
#[derive(Debug, Clone, Copy)]
pub struct ChatPage<'a> {
    pub user: UserId,
    pub instance: &'a InstanceName,
    pub remote_jid: &'a str,
    pub limit: u32,
    pub tally: Option<SyncTally>,
}

/// Fetches the newest `limit` messages of the chat and stores them.
pub async fn sync_chat(
    evolution: &dyn Evolution,
    store: &dyn Store,
    chat: ChatPage<'_>,
    now: DateTime<Utc>,
) -> Result<Ingested, HistoryError> {
    let page = evolution
        .find_messages(chat.instance, chat.remote_jid, 1, chat.limit)
        .await?;
    let parsed: Vec<_> = page
        .records
        .iter()
        .filter(|r| !is_protocol(r))
        .filter_map(|r| parse_record(r, now).ok())
        .take(chat.limit as usize)
        .collect();
    Ok(match chat.tally {
        Some(tally) => ingest_sync_messages(store, chat.user, &parsed, now, tally).await?,
        None => ingest_messages(store, chat.user, &parsed, now).await?,
    })
}
