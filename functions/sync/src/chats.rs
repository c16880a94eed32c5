//! `POST /api/evolution/sync/chats`: read the chat list, keep a contact and
//! a conversation per chat, record `chats_count`, and fan out one history
//! job per chat under a new sync run — or, while a run is in progress,
//! answer with that run and queue nothing. A chat listed twice (the same
//! JID, or a person's phone JID and `@lid`, which keep one contact) is one
//! chat: each run counts one report per contact, so a duplicate would
//! leave the run short of its total for good.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use nolose_shared::auth::AuthUser;
use nolose_shared::connection::update_instance;
use nolose_shared::domain::UserId;
use nolose_shared::error::ErrorBody;
use nolose_shared::jobs::SyncChatHistory;
use nolose_shared::store::{ChatOutcome, ContactId, ContactUpsert, Instance, SyncRun, SyncStart};
use nolose_shared::{ApiError, AppState};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::sync::{connected, person};

/// Messages each chat's job fetches (API.md: the 30 most recent).
pub const HISTORY_PER_CHAT: u32 = 30;
/// Chats upserted at once while reading the list.
const UPSERTS_IN_FLIGHT: usize = 8;

#[derive(Serialize, ToSchema)]
pub struct ChatView {
    /// The chat's JID.
    pub id: String,
    pub name: Option<String>,
    pub unread_count: u64,
    #[serde(with = "nolose_shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub last_message_time: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ChatsQueued {
    pub chats: Vec<ChatView>,
    pub total: usize,
    pub sync_id: i64,
    /// History jobs queued by this call (0 when a run was already going).
    pub queued: usize,
}

/// A chat as we keep it: its contact, and how we show it.
struct Chat {
    contact: ContactId,
    view: ChatView,
}

#[utoipa::path(post, path = "/api/evolution/sync/chats", tag = "sync", security(("bearer" = [])),
    responses((status = 202, body = ChatsQueued), (status = 409, description = "not_connected", body = ErrorBody)))]
pub async fn sync_chats(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<(StatusCode, Json<ChatsQueued>), ApiError> {
    let instance = connected(&state, user.id).await?;
    let records = state.evolution.find_chats(&instance.name).await?;
    let chats = one_per_contact(keep_chats(&state, user.id, &records).await?);
    record_chats_count(&state, user.id, chats.len()).await?;
    let count = u32::try_from(chats.len()).unwrap_or(u32::MAX);
    let start = state
        .store
        .start_sync_run(
            user.id,
            count,
            state.clock.now(),
            state.config.sync_stale_after,
        )
        .await?;
    let (run, queued) = match start {
        SyncStart::AlreadyRunning(run) => (run, 0),
        SyncStart::Started(run) => {
            let queued = fan_out(&state, &instance, &run, &chats).await?;
            (run, queued)
        }
    };
    tracing::info!(sync_id = %run.id, chats = chats.len(), queued, "chat sync");
    let chats: Vec<ChatView> = chats.into_iter().map(|c| c.view).collect();
    Ok((
        StatusCode::ACCEPTED,
        Json(ChatsQueued {
            total: chats.len(),
            chats,
            sync_id: run.id.get(),
            queued,
        }),
    ))
}

/// Upserts a contact and a conversation per person chat, in list order.
async fn keep_chats(
    state: &AppState,
    user: UserId,
    records: &[Value],
) -> Result<Vec<Chat>, ApiError> {
    let now = state.clock.now();
    // Owned per chat: borrowed captures in a buffered stream trip the
    // higher-ranked `Send` check of axum handlers.
    let people: Vec<(ContactUpsert, Value)> = records
        .iter()
        .filter_map(|r| person(r, now).map(|p| (p, r.clone())))
        .collect();
    futures::stream::iter(people)
        .map(|(upsert, record)| keep_chat(state.clone(), user, upsert, record, now))
        .buffered(UPSERTS_IN_FLIGHT)
        .try_collect()
        .await
}

async fn keep_chat(
    state: AppState,
    user: UserId,
    upsert: ContactUpsert,
    record: Value,
    now: DateTime<Utc>,
) -> Result<Chat, ApiError> {
    let last = last_message_time(&record);
    let contact = state.store.upsert_contact(user, &upsert).await?;
    state
        .store
        .upsert_conversation(user, contact.id, last, now)
        .await?;
    Ok(Chat {
        contact: contact.id,
        view: ChatView {
            id: contact.jid.as_str().to_owned(),
            name: upsert.name,
            unread_count: record
                .get("unreadCount")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            last_message_time: last,
        },
    })
}

/// The chats in list order, each contact's first one only.
fn one_per_contact(chats: Vec<Chat>) -> Vec<Chat> {
    let mut seen = std::collections::HashSet::with_capacity(chats.len());
    chats
        .into_iter()
        .filter(|c| seen.insert(c.contact))
        .collect()
}

/// Evolution's last-message timestamp (seconds) of a chat record.
fn last_message_time(record: &Value) -> Option<DateTime<Utc>> {
    let ts = record.get("lastMessage")?.get("messageTimestamp")?;
    let secs = ts
        .as_i64()
        .or_else(|| ts.as_str().and_then(|s| s.parse().ok()))?;
    DateTime::from_timestamp(secs, 0).filter(|_| secs > 0)
}

/// The dashboard triggers a sync only while `chats_count` is null.
async fn record_chats_count(state: &AppState, user: UserId, n: usize) -> Result<(), ApiError> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    update_instance(state.store.as_ref(), user, |i| {
        let changed = i.chats_count != Some(n);
        i.chats_count = Some(n);
        changed
    })
    .await?;
    Ok(())
}

/// Queues one job per chat; chats whose job could not be queued are
/// recorded as failed so that the run still reaches `done` — every one of
/// them, even when recording another failed (the first such error is
/// returned after; a chat left unrecorded is caught by the stale finish).
async fn fan_out(
    state: &AppState,
    instance: &Instance,
    run: &SyncRun,
    chats: &[Chat],
) -> Result<usize, ApiError> {
    let jobs: Vec<SyncChatHistory> = chats
        .iter()
        .map(|c| SyncChatHistory {
            user_id: instance.user_id,
            instance: instance.name.clone(),
            sync_id: run.id,
            contact_id: c.contact,
            remote_jid: c.view.id.clone(),
            limit: HISTORY_PER_CHAT,
        })
        .collect();
    let total = jobs.len();
    let Err(err) = state.jobs.enqueue_many(jobs).await else {
        return Ok(total);
    };
    tracing::error!(
        error = format!("{:#}", err.cause),
        not_queued = err.not_queued.len(),
        "queuing sync jobs"
    );
    let mut unrecorded = None;
    for job in &err.not_queued {
        let recorded = state
            .store
            .finish_sync_chat(
                job.user_id,
                run.id,
                job.contact_id,
                ChatOutcome::Failed,
                state.clock.now(),
            )
            .await;
        if let Err(e) = recorded {
            tracing::error!(error = %e, contact_id = %job.contact_id, "recording an unqueued chat");
            unrecorded.get_or_insert(e);
        }
    }
    if let Some(e) = unrecorded {
        return Err(e.into());
    }
    if err.not_queued.len() == total && total > 0 {
        return Err(ApiError::Unavailable(err.cause.context("job queue")));
    }
    Ok(total - err.not_queued.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(contact: i64, jid: &str) -> Chat {
        Chat {
            contact: ContactId::new(contact),
            view: ChatView {
                id: jid.to_owned(),
                name: None,
                unread_count: 0,
                last_message_time: None,
            },
        }
    }

    /// Issue 9: a person listed twice (the same JID, or phone and `@lid`)
    /// got two jobs but one report, so the run never reached its total.
    #[test]
    fn a_contact_listed_twice_is_one_chat() {
        let listed = vec![
            chat(1, "5511900000001@s.whatsapp.net"),
            chat(2, "5511900000002@s.whatsapp.net"),
            chat(1, "123456789@lid"),
            chat(2, "5511900000002@s.whatsapp.net"),
        ];
        let kept: Vec<String> = one_per_contact(listed)
            .into_iter()
            .map(|c| c.view.id)
            .collect();
        assert_eq!(
            kept,
            [
                "5511900000001@s.whatsapp.net",
                "5511900000002@s.whatsapp.net"
            ]
        );
    }
}
