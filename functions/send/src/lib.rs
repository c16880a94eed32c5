//! The `send` function. Its routes arrive with their issue; until then the
//! Lambda answers `/api/health` like every function.

use axum::Router;
use nolose_shared::AppState;
use nolose_shared::http::app;

/// The routes of this function, without the common layers.
pub fn routes() -> Router<AppState> {
    Router::new()
}

/// The finished Lambda router.
pub fn router(state: AppState) -> Router {
    app(routes(), state)
}
