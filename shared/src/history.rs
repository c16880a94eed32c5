//! One chat's recent history into the store: the step the per-chat sync job
//! and the synchronous `POST /sync/messages/{contact_id}` share. Evolution
//! ignores `limit` (EVOLUTION.md §3.1), so the page size travels as `offset`
//! with `page: 1`; the page goes through the webhook's insert-if-new path,
//! so a message that arrived by webhook is not stored twice, nor the other
//! way round.

use chrono::Utc;

use crate::domain::{InstanceName, UserId};
use crate::evolution::message::{is_protocol, parse_record};
use crate::evolution::{Evolution, EvolutionError};
use crate::ingest::{Ingested, ingest_messages};
use crate::store::{Store, StoreError};

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

/// Fetches the newest `limit` messages of `remote_jid` and stores them.
pub async fn sync_chat(
    evolution: &dyn Evolution,
    store: &dyn Store,
    user: UserId,
    instance: &InstanceName,
    remote_jid: &str,
    limit: u32,
) -> Result<Ingested, HistoryError> {
    let page = evolution
        .find_messages(instance, remote_jid, 1, limit)
        .await?;
    let now = Utc::now();
    let parsed: Vec<_> = page
        .records
        .iter()
        .filter(|r| !is_protocol(r))
        .filter_map(|r| parse_record(r, now).ok())
        .take(limit as usize)
        .collect();
    Ok(ingest_messages(store, user, &parsed, now).await?)
}
