//! The `send` function: `POST /api/evolution/send/text`, with idempotency
//! keys, in both deployments.
//!
//! - [`request`]: the body and its validation (recipient, text, key).
//! - [`handlers`]: the route.
//! - [`idempotent`]: reserve / replay / wait / complete around one send.
//! - [`deliver`]: the send itself and the storing of the outbound message.

pub mod deliver;
pub mod handlers;
pub mod idempotent;
pub mod request;

use axum::routing::post;
use axum::{Extension, Router};
use nolose_shared::AppState;
use nolose_shared::http::app;

pub use idempotent::Patience;

/// The routes of this function, without the common layers.
pub fn routes() -> Router<AppState> {
    routes_with(Patience::default())
}

/// The routes with a chosen wait for a concurrent request holding the same
/// key (tests shorten it to see `request_in_progress` quickly).
pub fn routes_with(patience: Patience) -> Router<AppState> {
    Router::new()
        .route("/api/evolution/send/text", post(handlers::send_text))
        .layer(Extension(patience))
}

/// The finished Lambda router.
pub fn router(state: AppState) -> Router {
    app(routes(), state)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(handlers::send_text))]
pub struct SendApi;
