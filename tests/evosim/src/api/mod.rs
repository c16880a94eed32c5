//! The emulated Evolution API v2 (EVOLUTION.md §1–§4): routes at the root,
//! instance routes keyed by `{name}`, and on every instance route the guard
//! chain in Evolution's order — body parsing (Express' json middleware), then
//! "instance exists" (404), then `apikey` (401), then schema validation (400).

mod chat;
mod create;
mod instance;
mod lists;
mod message;
pub mod middleware;
mod schema;
mod settings;
mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use crate::error::EvoError;
use crate::sim::Sim;

/// Express' JSON limit in Evolution (`136mb`).
pub const BODY_LIMIT: usize = 136 * 1024 * 1024;

pub type ApiResult = Result<Response, EvoError>;

/// Every emulated route, wrapped in the call-log / fault middleware.
pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/", get(welcome))
        .route("/instance/create", post(create::create))
        .route("/instance/connect/{name}", get(instance::connect))
        .route("/instance/connectionState/{name}", get(instance::state))
        .route("/instance/restart/{name}", post(instance::restart))
        .route("/instance/logout/{name}", delete(instance::logout))
        .route("/instance/delete/{name}", delete(instance::remove))
        .route("/instance/fetchInstances", get(instance::fetch))
        .route("/webhook/set/{name}", post(webhook::set))
        .route("/webhook/find/{name}", get(webhook::find))
        .route("/settings/set/{name}", post(settings::set))
        .route("/settings/find/{name}", get(settings::find))
        .route("/chat/findMessages/{name}", post(chat::find_messages))
        .route("/chat/findChats/{name}", post(chat::find_chats))
        .route("/chat/findContacts/{name}", post(chat::find_contacts))
        .route("/chat/whatsappNumbers/{name}", post(chat::whatsapp_numbers))
        .route("/message/sendText/{name}", post(message::send_text))
        .route("/message/sendMedia/{name}", post(message::send_media))
        .fallback(no_route)
        .method_not_allowed_fallback(no_route)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&sim),
            middleware::evolution,
        ))
        .with_state(sim)
}

/// `GET /`: Evolution's welcome document, a cheap health check.
async fn welcome(axum::extract::State(sim): axum::extract::State<Arc<Sim>>) -> Response {
    let body = json!({
        "status": 200,
        "message": "Welcome to the Evolution API, it is working!",
        "version": "2.3.6",
        "clientName": "evolution",
        "manager": format!("{}/manager", sim.server_url()),
        "documentation": "https://doc.evolution-api.com",
        "whatsappWebVersion": "2.3000.1028950787",
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// Express' default 404 (also for a known path with the wrong method).
async fn no_route(method: Method, uri: Uri) -> Response {
    EvoError::no_route(method.as_str(), uri.path()).into_response()
}

/// Parses a body the way `express.json()` leaves it: empty → `{}`.
pub fn parse_body(bytes: &Bytes) -> Result<Value, EvoError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(bytes).map_err(|e| EvoError::bad_request(e.to_string()))
}

fn api_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("apikey")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty())
}

/// `instanceExistsGuard` then `authGuard.apikey` for a route with `:instanceName`:
/// the global key or that instance's own token.
pub fn guard(sim: &Sim, name: &str, headers: &HeaderMap) -> Result<(), EvoError> {
    let store = sim.store();
    let inst = store
        .instances
        .get(name)
        .ok_or_else(|| EvoError::instance_missing(name))?;
    match api_key(headers) {
        Some(k) if k == sim.config.api_key || k == inst.token => Ok(()),
        _ => Err(EvoError::unauthorized()),
    }
}

/// Status + JSON body.
pub fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}
