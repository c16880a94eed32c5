//! The `sync` function: history sync (API.md "Sync") and every read route
//! of API.md "Reading data", each scoped to the caller.
//!
//! - [`chats`]: the chat list sync that fans out one history job per chat.
//! - [`sync`]: contacts sync, run status, one chat's history.
//! - [`raw`]: Evolution's chat list and message page, passed through.
//! - [`reads`]: the list routes and stats.
//! - [`views`]: the JSON shapes of contacts and messages.
//! - [`paging`]: `skip`/`limit` validation shared by every list.

pub mod chats;
mod paging;
pub mod raw;
pub mod reads;
pub mod sync;
pub mod views;

use axum::Router;
use axum::routing::{get, post};
use nolose_shared::AppState;
use nolose_shared::http::app;

/// The routes of this function, without the common layers.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/evolution/contacts", get(reads::evolution_contacts))
        .route(
            "/api/evolution/messages/{contact_id}",
            get(reads::evolution_messages),
        )
        .route("/api/messages", get(reads::messages))
        .route("/api/contacts", get(reads::contacts))
        .route("/api/conversations", get(reads::conversations))
        .route("/api/stats", get(reads::stats))
        .route("/api/evolution/sync/contacts", post(sync::sync_contacts))
        .route("/api/evolution/sync/chats", post(chats::sync_chats))
        .route("/api/evolution/sync/status", get(sync::sync_status))
        .route(
            "/api/evolution/sync/messages/{contact_id}",
            post(sync::sync_messages),
        )
        .route("/api/evolution/chats/raw", get(raw::chats_raw))
        .route("/api/evolution/chats/messages/raw", post(raw::messages_raw))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    sync::sync_contacts,
    chats::sync_chats,
    sync::sync_status,
    sync::sync_messages,
    raw::chats_raw,
    raw::messages_raw
))]
pub struct SyncApi;

/// The finished Lambda router.
pub fn router(state: AppState) -> Router {
    app(routes(), state)
}
