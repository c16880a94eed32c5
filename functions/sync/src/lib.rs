//! The `sync` function: history sync (its issue adds those routes) and every
//! read route of API.md "Reading data", each scoped to the caller.
//!
//! - [`reads`]: the list routes and stats.
//! - [`views`]: the JSON shapes of contacts and messages.
//! - [`paging`]: `skip`/`limit` validation shared by every list.

mod paging;
pub mod reads;
pub mod views;

use axum::Router;
use axum::routing::get;
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
}

/// The finished Lambda router.
pub fn router(state: AppState) -> Router {
    app(routes(), state)
}
