//! The `auth` function: `/api/auth/*` — register, login (with the
//! failed-login lockout), me, rename. [`router`] is the whole Lambda;
//! [`routes`] is what the local server merges with the other functions.
//!
//! - [`handlers`]: the four routes.
//! - [`login`]: the login steps (lockout, verification, token).
//! - [`openapi`]: the OpenAPI description of these routes.

mod handlers;
mod login;
pub mod openapi;

use axum::Router;
use axum::routing::{get, post};
use nolose_shared::AppState;
use nolose_shared::http::app;

/// The routes of this function, without the common layers.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(handlers::register))
        .route("/api/auth/login", post(handlers::login))
        .route("/api/auth/me", get(handlers::me).put(handlers::update_me))
}

/// The finished Lambda router.
pub fn router(state: AppState) -> Router {
    app(routes(), state)
}
