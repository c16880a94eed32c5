//! A send under an idempotency key (API.md, Sending): the key is reserved
//! in the store before Evolution is called, so of two requests with one key
//! only the holder sends. A repeat of a success replays the stored answer;
//! the same key with another body is refused; a failure frees the key. A
//! request that finds the key held polls it, with growing pauses, until the
//! holder finishes or its [`Patience`] runs out (409 `request_in_progress`).

use std::time::Duration;

use nolose_shared::domain::UserId;
use nolose_shared::store::{IdempotencyKey, LeaseToken, Reservation};
use nolose_shared::{ApiError, AppState};
use tokio::time::Instant;

use crate::deliver::deliver;
use crate::request::{SendText, SendTextResponse};

/// How long a request waits for another one holding its key: the holder
/// answers within Evolution's 30 s timeout plus a few store operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience(pub Duration);

impl Default for Patience {
    fn default() -> Self {
        Self(Duration::from_secs(35))
    }
}

const FIRST_PAUSE: Duration = Duration::from_millis(20);
const MAX_PAUSE: Duration = Duration::from_millis(250);

fn reused() -> ApiError {
    ApiError::Conflict {
        code: "idempotency_key_reused",
        detail: "Idempotency-Key: already used for a different request".into(),
    }
}

fn in_progress() -> ApiError {
    ApiError::Conflict {
        code: "request_in_progress",
        detail: "A request with this Idempotency-Key is still in progress, please retry".into(),
    }
}

/// Sends `request` at most once per (user, key) and body.
pub async fn send_once(
    state: &AppState,
    patience: Patience,
    user: UserId,
    key: IdempotencyKey,
    request: SendText,
) -> Result<SendTextResponse, ApiError> {
    let fingerprint = request.fingerprint();
    let deadline = Instant::now() + patience.0;
    let mut pause = FIRST_PAUSE;
    loop {
        let found = state
            .store
            .reserve_idempotency_key(user, &key, &fingerprint, state.clock.now())
            .await?;
        match found {
            Reservation::Reserved(lease) => {
                return holding(state.clone(), user, key, lease, request).await;
            }
            Reservation::Completed(first) => return replay(first),
            Reservation::Reused => return Err(reused()),
            Reservation::InProgress if Instant::now() + pause > deadline => {
                return Err(in_progress());
            }
            Reservation::InProgress => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
        }
    }
}

/// Sends while holding the key, then completes or releases it. Runs as its
/// own task so that a client hanging up mid-send (which drops the handler)
/// neither cuts the send short nor leaves the key held until its lease ends.
async fn holding(
    state: AppState,
    user: UserId,
    key: IdempotencyKey,
    lease: LeaseToken,
    request: SendText,
) -> Result<SendTextResponse, ApiError> {
    let task = tokio::spawn(async move {
        let outcome = deliver(&state, user, &request).await;
        let store = state.store.as_ref();
        let settled = match &outcome {
            Ok(response) => {
                let body = serde_json::to_value(response).unwrap_or_default();
                store
                    .complete_idempotency_key(user, &key, &lease, &body, state.clock.now())
                    .await
            }
            Err(_) => store.release_idempotency_key(user, &key, &lease).await,
        };
        // The send's own outcome is the answer either way: a key that was not
        // completed frees itself when its lease runs out.
        if let Err(e) = settled {
            let error = format!("{:#}", anyhow::Error::new(e));
            tracing::warn!(error, sent = outcome.is_ok(), "idempotency key not settled");
        }
        outcome
    });
    task.await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("the send task failed")))?
}

/// The first success's answer, as stored.
fn replay(first: serde_json::Value) -> Result<SendTextResponse, ApiError> {
    serde_json::from_value(first).map_err(|e| {
        ApiError::Internal(anyhow::Error::new(e).context("decoding a stored send response"))
    })
}
