//! The `webhook` function: Evolution → backend, `/api/webhook/evolution`
//! (and `/{event}`, the path Evolution uses with `byEvents: true`).
//!
//! It answers 2xx only once an event's effect is durably stored (or known to
//! be a duplicate): a store that cannot answer is a 503, which Evolution
//! retries, so no message is lost; the store's insert-if-new makes every
//! retry harmless, so none is doubled.
//!
//! - [`guard`]: the checks of API.md in their order (413, 400, 401, 404).
//! - [`handle`]: what each event does.

pub mod guard;
pub mod handle;

use axum::Router;
use axum::routing::post;
use nolose_shared::AppState;
use nolose_shared::http::app;

/// The routes of this function, without the common layers.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/webhook/evolution", post(handle::receive))
        .route(
            "/api/webhook/evolution/{event}",
            post(handle::receive_event),
        )
}

/// The finished Lambda router.
pub fn router(state: AppState) -> Router {
    app(routes(), state)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(handle::receive, handle::receive_event))]
pub struct WebhookApi;
