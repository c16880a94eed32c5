//! The `instance` function: the user's WhatsApp connection at Evolution —
//! create (idempotent, webhook configured in the same call), status
//! (reconciled with Evolution's `connectionState`), QR code, disconnect.
//!
//! - [`handlers`]: the four routes.
//! - [`view`]: `InstanceStatus` and the other answers.

pub mod handlers;
pub mod view;

use axum::Router;
use axum::routing::{delete, get, post};
use nolose_shared::AppState;
use nolose_shared::http::app;

/// The routes of this function, without the common layers.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/evolution/instance/create", post(handlers::create))
        .route("/api/evolution/instance/status", get(handlers::status))
        .route("/api/evolution/instance/qrcode", get(handlers::qrcode))
        .route(
            "/api/evolution/instance/disconnect",
            delete(handlers::disconnect),
        )
}

/// The finished Lambda router.
pub fn router(state: AppState) -> Router {
    app(routes(), state)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    handlers::create,
    handlers::status,
    handlers::qrcode,
    handlers::disconnect
))]
pub struct InstanceApi;
