//! One send, without idempotency: the instance must be `connected` as we
//! know it; Evolution's `sendText` answers the record it will also echo as
//! `send.message`; that record goes through the one insert-if-new path
//! (`ingest_messages`), under the contact of the JID Evolution normalised
//! to, so whichever of the answer and the echo comes first stores it once.

use nolose_shared::domain::{MessageStatus, UserId};
use nolose_shared::evolution::EvolutionError;
use nolose_shared::evolution::message::{ParsedMessage, parse_record};
use nolose_shared::ingest::ingest_messages;
use nolose_shared::store::ConnectionStatus;
use nolose_shared::{ApiError, AppState};

use crate::request::{SendText, SendTextResponse};

pub fn not_connected() -> ApiError {
    ApiError::Conflict {
        code: "not_connected",
        detail: "WhatsApp not connected. Please scan the QR code first.".into(),
    }
}

/// Sends `request` for `user` and stores the outbound message.
pub async fn deliver(
    state: &AppState,
    user: UserId,
    request: &SendText,
) -> Result<SendTextResponse, ApiError> {
    let instance = state
        .store
        .instance_by_user(user)
        .await?
        .filter(|i| i.status == ConnectionStatus::Connected)
        .ok_or_else(not_connected)?;
    let record = state
        .evolution
        .send_text(&instance.name, request.recipient.number(), &request.text)
        .await
        .map_err(|e| match e {
            // Evolution no longer knows the instance: it is not connected.
            EvolutionError::InstanceNotFound => not_connected(),
            other => other.into(),
        })?;
    let mut sent = parse_record(&record, state.clock.now()).map_err(|e| {
        ApiError::Upstream(anyhow::Error::new(e).context("reading the sendText answer"))
    })?;
    // Evolution answers PENDING; API.md stores what we sent as `sent`.
    sent.status = Some(MessageStatus::Sent);
    sent.from_me = true;
    let message_id = sent.key_id.clone();
    store_outbound(state, user, sent).await;
    Ok(SendTextResponse {
        success: true,
        message_id,
    })
}

/// Stores the sent message. A failure here is logged, not returned: the
/// message has left, so a client told to retry would send it twice, and the
/// `send.message` echo (which Evolution retries until we store it) brings
/// the same record to the same insert-if-new path.
async fn store_outbound(state: &AppState, user: UserId, sent: ParsedMessage) {
    let key_id = sent.key_id.clone();
    let stored = match ingest_messages(state.store.as_ref(), user, &[sent], state.clock.now()).await
    {
        Ok(stored) => stored,
        Err(e) => {
            tracing::error!(error = format!("{:#}", anyhow::Error::new(e)), %key_id, "sent, but not stored; the echo will bring it");
            return;
        }
    };
    // The echo came first and stored Evolution's PENDING: move it to `sent`
    // (statuses only move forward, so a later receipt is never undone).
    let echoed_pending = stored
        .rows
        .first()
        .is_some_and(|row| !row.new && row.message.status == MessageStatus::Pending);
    if echoed_pending
        && let Err(e) = state
            .store
            .advance_status(user, &key_id, MessageStatus::Sent, state.clock.now())
            .await
    {
        tracing::warn!(error = format!("{:#}", anyhow::Error::new(e)), %key_id, "could not mark the echoed message sent");
    }
}
