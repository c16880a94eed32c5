//! What each event does once the caller is authorised. Every branch ends in
//! a store write (or a recognised duplicate / a deliberate skip) before the
//! 200: an error propagates, so a store outage is a 503 and Evolution retries.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use nolose_shared::connection::{ConnectionChange, apply, update_instance};
use nolose_shared::domain::{Jid, JidKind, MessageStatus, UserId};
use nolose_shared::error::ErrorBody;
use nolose_shared::evolution::events::{
    ConnectionState, ContactInfo, WebhookEvent, interpret, normalise_event_name,
};
use nolose_shared::http::ApiQuery;
use nolose_shared::ingest::ingest_messages;
use nolose_shared::store::ContactUpsert;
use nolose_shared::{ApiError, AppState};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

use crate::guard;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TokenQuery {
    /// The global `WEBHOOK_SECRET`, for Evolution's global webhook.
    pub token: Option<String>,
}

/// `{"status":"ok"}` when the effect is stored, `{"status":"ignored"}` for
/// what we deliberately do not keep.
type Answer = Result<Json<Value>, ApiError>;

#[utoipa::path(post, path = "/api/webhook/evolution", tag = "webhook", params(TokenQuery),
    request_body(content = Object, description = "Evolution's webhook envelope"),
    responses((status = 200, description = "`{\"status\":\"ok\"|\"ignored\"}`"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 503, description = "store unavailable: Evolution retries", body = ErrorBody)))]
pub async fn receive(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<TokenQuery>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    process(&state, None, q.token, &headers, body).await
}

#[utoipa::path(post, path = "/api/webhook/evolution/{event}", tag = "webhook",
    params(("event" = String, Path, description = "e.g. `messages-upsert` (byEvents)"), TokenQuery),
    request_body(content = Object), responses((status = 200, description = "as without the suffix")))]
pub async fn receive_event(
    State(state): State<AppState>,
    Path(event): Path<String>,
    ApiQuery(q): ApiQuery<TokenQuery>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    process(&state, Some(event), q.token, &headers, body).await
}

async fn process(
    state: &AppState,
    path_event: Option<String>,
    token: Option<String>,
    headers: &HeaderMap,
    body: Body,
) -> Answer {
    let bytes = guard::read_body(body).await?;
    let mut envelope = guard::envelope(&bytes)?;
    if envelope.event.is_empty() {
        envelope.event = path_event
            .as_deref()
            .map(normalise_event_name)
            .unwrap_or_default();
    }
    let user = guard::authorise(state, &envelope, headers, token.as_deref()).await?;
    let outcome = dispatch(state, user, interpret(&envelope, state.clock.now()))
        .instrument(tracing::info_span!("webhook", event = %envelope.event, user_id = %user))
        .await?;
    tracing::debug!(outcome, "webhook handled");
    Ok(Json(json!({ "status": outcome })))
}

async fn dispatch(
    state: &AppState,
    user: UserId,
    event: WebhookEvent,
) -> Result<&'static str, ApiError> {
    let (store, now) = (state.store.as_ref(), state.clock.now());
    match event {
        WebhookEvent::Messages(messages) => {
            let done = ingest_messages(store, user, &messages, now).await?;
            Ok(if done.rows.is_empty() && done.skipped > 0 {
                "ignored"
            } else {
                "ok"
            })
        }
        WebhookEvent::StatusUpdate { key_id, status } => {
            store.advance_status(user, &key_id, status, now).await?;
            Ok("ok")
        }
        WebhookEvent::Deleted { key_id } => {
            store
                .advance_status(user, &key_id, MessageStatus::Deleted, now)
                .await?;
            Ok("ok")
        }
        WebhookEvent::Connection {
            state: reported,
            wuid_phone,
            profile_name,
        } => {
            let change = match reported {
                ConnectionState::Open => ConnectionChange::Open {
                    phone_number: wuid_phone,
                    profile_name,
                },
                ConnectionState::Connecting => ConnectionChange::Connecting,
                ConnectionState::Close | ConnectionState::Refused => ConnectionChange::Closed,
            };
            change_connection(state, user, change).await
        }
        WebhookEvent::QrUpdated {
            base64: Some(base64),
            pairing_code,
        } => {
            change_connection(
                state,
                user,
                ConnectionChange::Qr {
                    base64,
                    pairing_code,
                },
            )
            .await
        }
        WebhookEvent::QrUpdated { base64: None, .. } => Ok("ignored"),
        WebhookEvent::LoggedOut => change_connection(state, user, ConnectionChange::Closed).await,
        WebhookEvent::Contacts(contacts) => upsert_contacts(state, user, contacts).await,
        WebhookEvent::Chats(jids) => {
            let mut any = false;
            for jid in jids.into_iter().filter(|j| j.is_person()) {
                let Some(jid) = person_jid(state, user, jid).await? else {
                    continue;
                };
                let upsert = ContactUpsert {
                    jid,
                    lid: None,
                    name: None,
                    profile_name: None,
                    now,
                };
                let contact = store.upsert_contact(user, &upsert).await?;
                store
                    .upsert_conversation(user, contact.id, None, now)
                    .await?;
                any = true;
            }
            Ok(if any { "ok" } else { "ignored" })
        }
        WebhookEvent::Ignored(_) => Ok("ignored"),
        WebhookEvent::Malformed(reason) => Err(ApiError::BadRequest(
            format!("webhook data: {reason}").into(),
        )),
    }
}

async fn change_connection(
    state: &AppState,
    user: UserId,
    change: ConnectionChange,
) -> Result<&'static str, ApiError> {
    let now = state.clock.now();
    update_instance(state.store.as_ref(), user, |i| apply(i, &change, now)).await?;
    Ok("ok")
}

/// The JID under which a contact or chat event's person is stored. Evolution
/// sends these events concurrently with the message that caused them; a LID
/// not known yet is left to that message, which carries the phone JID
/// (`remoteJidAlt`) and so makes one contact per person instead of a LID
/// twin (`None`: skip it). A known LID leads to its phone contact.
async fn person_jid(state: &AppState, user: UserId, jid: Jid) -> Result<Option<Jid>, ApiError> {
    if jid.kind() != JidKind::Lid {
        return Ok(Some(jid));
    }
    Ok(state
        .store
        .contact_by_jid(user, &jid)
        .await?
        .map(|known| known.jid))
}

/// `contacts.upsert`/`contacts.update`: create the person if unknown, take a
/// non-empty push name as the profile name; `name` stays what sync set. An
/// `@lid` updates the contact it is known for, and creates nothing.
async fn upsert_contacts(
    state: &AppState,
    user: UserId,
    contacts: Vec<ContactInfo>,
) -> Result<&'static str, ApiError> {
    let (store, now) = (state.store.as_ref(), state.clock.now());
    let mut any = false;
    for c in contacts.into_iter().filter(|c| c.jid.is_person()) {
        let Some(jid) = person_jid(state, user, c.jid).await? else {
            continue;
        };
        let profile_name = c.push_name.filter(|n| !n.trim().is_empty());
        store
            .upsert_contact(
                user,
                &ContactUpsert {
                    jid,
                    lid: None,
                    name: None,
                    profile_name,
                    now,
                },
            )
            .await?;
        any = true;
    }
    Ok(if any { "ok" } else { "ignored" })
}
