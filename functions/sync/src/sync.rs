//! The sync routes that work on one thing at a time: contacts, the status
//! of the latest run, and one chat's history. The fan-out over every chat
//! is in [`crate::chats`], the `raw` debug views in [`crate::raw`].

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use nolose_shared::auth::AuthUser;
use nolose_shared::connection::{ConnectionChange, apply, update_instance};
use nolose_shared::domain::{Jid, UserId};
use nolose_shared::error::ErrorBody;
use nolose_shared::evolution::EvolutionError;
use nolose_shared::evolution::gateway::RemoteState;
use nolose_shared::history::{ChatPage, HistoryError, sync_chat};
use nolose_shared::http::ApiQuery;
use nolose_shared::store::{ConnectionStatus, ContactUpsert, Instance, SyncState};
use nolose_shared::{ApiError, AppState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;
use utoipa::{IntoParams, ToSchema};

use crate::reads::owned_contact;

/// Contacts per `findContacts` page, and the most pages read (100k contacts).
const CONTACTS_PAGE: u32 = 100;
const MAX_CONTACT_PAGES: u32 = 1000;
/// How long `sync/contacts` keeps paging (one Evolution call per page, one
/// store call per contact) before it answers what it has: without it the
/// chain of calls grows with the account and outlasts any function timeout.
/// The last call started in time may still take its own timeout
/// (`tests/tests/template.rs` counts it).
pub const CONTACTS_DEADLINE: Duration = Duration::from_secs(60);

/// The caller's instance, if it is connected; else 409 `not_connected`.
/// A stored status other than `connected` is checked with Evolution first
/// (webhooks arrive unordered, so a stale `connecting` can follow `open`),
/// and corrected when Evolution says the instance is open.
pub async fn connected(state: &AppState, user: UserId) -> Result<Instance, ApiError> {
    let not_connected = || ApiError::Conflict {
        code: "not_connected",
        detail: "WhatsApp not connected. Please scan the QR code first.".into(),
    };
    let instance = state
        .store
        .instance_by_user(user)
        .await?
        .ok_or_else(not_connected)?;
    if instance.status == ConnectionStatus::Connected {
        return Ok(instance);
    }
    match state.evolution.connection_state(&instance.name).await {
        Ok(RemoteState::Open) => {}
        Ok(_) | Err(EvolutionError::InstanceNotFound) => return Err(not_connected()),
        Err(e) => return Err(e.into()),
    }
    let open = ConnectionChange::Open {
        phone_number: None,
        profile_name: None,
    };
    let now = state.clock.now();
    update_instance(state.store.as_ref(), user, |i| apply(i, &open, now))
        .await?
        .ok_or_else(not_connected)
}

pub(crate) fn history_error(e: HistoryError) -> ApiError {
    match e {
        HistoryError::Evolution(e) => e.into(),
        HistoryError::Store(e) => e.into(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct Synced {
    pub synced_count: u64,
    pub message: String,
}

#[utoipa::path(post, path = "/api/evolution/sync/contacts", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = Synced), (status = 409, description = "not_connected", body = ErrorBody)))]
pub async fn sync_contacts(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Synced>, ApiError> {
    Ok(Json(
        contacts_within(&state, user.id, CONTACTS_DEADLINE).await?,
    ))
}

/// Pages through `findContacts`, upserting each person, until the last
/// page or until `budget` has passed: then it answers what it synced so far
/// (upserts are idempotent: calling again goes over them and on).
pub async fn contacts_within(
    state: &AppState,
    user: UserId,
    budget: Duration,
) -> Result<Synced, ApiError> {
    let deadline = Instant::now() + budget;
    let instance = connected(state, user).await?;
    let mut synced = 0u64;
    let mut finished = false;
    'pages: for page in 1..=MAX_CONTACT_PAGES {
        if Instant::now() >= deadline {
            break;
        }
        let records = state
            .evolution
            .find_contacts(&instance.name, page, CONTACTS_PAGE)
            .await?;
        for record in &records {
            if Instant::now() >= deadline {
                break 'pages;
            }
            if let Some(upsert) = person(record, state.clock.now()) {
                state.store.upsert_contact(user, &upsert).await?;
                synced += 1;
            }
        }
        if records.len() < CONTACTS_PAGE as usize {
            finished = true;
            break;
        }
    }
    if !finished {
        tracing::warn!(synced, "sync/contacts stopped at its deadline");
    }
    Ok(Synced {
        synced_count: synced,
        message: if finished {
            format!("Synced {synced} contacts")
        } else {
            format!("Synced {synced} contacts so far; call again for the rest")
        },
    })
}

/// A contact or chat record of a person (groups, broadcast, status and
/// newsletters are `None`), as an upsert that names it by its push name.
pub(crate) fn person(record: &Value, now: chrono::DateTime<chrono::Utc>) -> Option<ContactUpsert> {
    let jid = Jid::parse(record.get("remoteJid")?.as_str()?).ok()?;
    if !jid.is_person() {
        return None;
    }
    let push_name = ["pushName", "name"]
        .iter()
        .find_map(|k| record.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| nolose_shared::domain::limits::cut_name(n.to_owned()));
    Some(ContactUpsert {
        jid,
        lid: None,
        name: push_name.clone(),
        profile_name: push_name,
        now,
    })
}

#[derive(Serialize, ToSchema)]
pub struct SyncStatus {
    pub sync_id: Option<i64>,
    /// `running`, `done`, or `none` when no sync ever ran.
    pub state: &'static str,
    pub chats_total: u32,
    pub chats_done: u32,
    pub chats_failed: u32,
    pub messages_synced: u64,
    #[serde(with = "nolose_shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(with = "nolose_shared::time::rfc3339::option")]
    #[schema(value_type = Option<String>)]
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[utoipa::path(get, path = "/api/evolution/sync/status", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = SyncStatus)))]
pub async fn sync_status(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<SyncStatus>, ApiError> {
    let latest = state
        .store
        .latest_sync_run(user.id, state.clock.now(), state.config.sync_stale_after)
        .await?;
    let status = match latest {
        None => SyncStatus {
            sync_id: None,
            state: "none",
            chats_total: 0,
            chats_done: 0,
            chats_failed: 0,
            messages_synced: 0,
            started_at: None,
            finished_at: None,
        },
        Some(run) => SyncStatus {
            sync_id: Some(run.id.get()),
            state: match run.state {
                SyncState::Running => "running",
                SyncState::Done => "done",
            },
            chats_total: run.chats_total,
            chats_done: run.chats_done,
            chats_failed: run.chats_failed,
            messages_synced: run.messages_synced,
            started_at: Some(run.started_at),
            finished_at: run.finished_at,
        },
    };
    Ok(Json(status))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LimitQuery {
    /// Most recent messages to fetch (1..=100, default 30).
    pub limit: Option<i64>,
}

fn history_limit(raw: Option<i64>) -> Result<u32, ApiError> {
    match raw.unwrap_or(30) {
        n @ 1..=100 => Ok(n as u32),
        _ => Err(ApiError::validation("limit: must be between 1 and 100")),
    }
}

#[utoipa::path(post, path = "/api/evolution/sync/messages/{contact_id}", tag = "sync", security(("bearer" = [])),
    params(("contact_id" = i64, Path), LimitQuery),
    responses((status = 200, body = Synced), (status = 404, description = "contact_not_found", body = ErrorBody),
        (status = 409, description = "not_connected", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn sync_messages(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(contact_id): Path<String>,
    ApiQuery(q): ApiQuery<LimitQuery>,
) -> Result<Json<Synced>, ApiError> {
    let limit = history_limit(q.limit)?;
    let contact = owned_contact(&state, user.id, &contact_id).await?;
    let instance = connected(&state, user.id).await?;
    let page = ChatPage {
        user: user.id,
        instance: &instance.name,
        remote_jid: contact.jid.as_str(),
        limit,
        tally: None,
    };
    let ingested = sync_chat(
        state.evolution.as_ref(),
        state.store.as_ref(),
        page,
        state.clock.now(),
    )
    .await
    .map_err(history_error)?;
    let synced = ingested.new_count() as u64;
    Ok(Json(Synced {
        synced_count: synced,
        message: format!("Synced {synced} new messages"),
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::person;

    #[test]
    fn contact_names_are_cut_and_long_jids_skipped_as_api_md_limits_say() {
        let now = chrono::Utc::now();
        let long_name = json!({"remoteJid": "5511@s.whatsapp.net", "pushName": "n".repeat(300)});
        let upsert = person(&long_name, now).expect("a person");
        assert_eq!(upsert.name.map(|n| n.chars().count()), Some(256));
        let long_jid = json!({"remoteJid": format!("{}@s.whatsapp.net", "1".repeat(200))});
        assert!(person(&long_jid, now).is_none());
    }
}
