//! The control API under `/_sim`: JSON in and out, protected by the same
//! global `apikey` header, answering errors as `{"error": "..."}` so they can
//! never be confused with Evolution's envelope. Every route is a thin wrapper
//! around the operation the in-process [`crate::EvoSim`] handle exposes.

mod faults;
mod instances;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::sim::Sim;

pub fn router(sim: Arc<Sim>) -> Router {
    let routes = Router::new()
        .route("/instances", get(instances::list))
        .route("/instances/{name}", get(instances::show))
        .route("/instances/{name}/scan", post(instances::scan))
        .route("/instances/{name}/qr", post(instances::qr))
        .route("/instances/{name}/disconnect", post(instances::disconnect))
        .route("/instances/{name}/seed", post(instances::seed))
        .route(
            "/instances/{name}/messages",
            post(instances::inject).get(instances::messages),
        )
        .route("/instances/{name}/status", post(instances::status))
        .route("/instances/{name}/revoke", post(instances::revoke))
        .route("/numbers", post(instances::numbers))
        .route("/calls", get(faults::calls).delete(faults::clear_calls))
        .route(
            "/webhooks",
            get(faults::webhooks).delete(faults::clear_webhooks),
        )
        .route("/webhooks/{id}/replay", post(faults::replay))
        .route(
            "/faults",
            post(faults::add_fault).delete(faults::clear_faults),
        )
        .route("/latency", post(faults::add_latency))
        .route("/down", post(faults::down))
        .route("/up", post(faults::up))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({ "error": "no such control route" })),
            )
        })
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&sim), auth))
        .with_state(sim);
    Router::new().nest("/_sim", routes)
}

/// Same key as Evolution's global key.
async fn auth(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    let key = req.headers().get("apikey").and_then(|v| v.to_str().ok());
    if key != Some(sim.config.api_key.as_str()) {
        let body = json!({ "error": "missing or wrong apikey header (use the global key)" });
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    next.run(req).await
}
