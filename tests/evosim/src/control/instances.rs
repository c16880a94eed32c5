//! Control routes that act on one instance (or the WhatsApp number registry).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::error::SimError;
use crate::handle::{instance_info, set_on_whatsapp, stored_messages};
use crate::ops::connection::{self, Disconnect, Scan};
use crate::ops::inbound::{self, Incoming};
use crate::ops::qr::{self, QrIssued};
use crate::ops::receipts::{self, StatusUpdate};
use crate::ops::seed::{self, Seed};
use crate::sim::Sim;

type Sm = State<Arc<Sim>>;

fn ok(value: impl serde::Serialize) -> Response {
    Json(value).into_response()
}

/// An absent or empty body means "all defaults".
fn or_default<T: Default>(body: Option<Json<T>>) -> T {
    body.map(|Json(b)| b).unwrap_or_default()
}

pub async fn list(State(sim): Sm) -> Response {
    let names: Vec<String> = sim.store().instances.keys().cloned().collect();
    let infos: Vec<_> = names
        .iter()
        .filter_map(|n| instance_info(&sim, n))
        .collect();
    ok(infos)
}

pub async fn show(State(sim): Sm, Path(name): Path<String>) -> Result<Response, SimError> {
    instance_info(&sim, &name)
        .map(ok)
        .ok_or(SimError::UnknownInstance(name))
}

pub async fn scan(
    State(sim): Sm,
    Path(name): Path<String>,
    body: Option<Json<Scan>>,
) -> Result<Response, SimError> {
    connection::scan(&sim, &name, or_default(body)).map(ok)
}

pub async fn qr(State(sim): Sm, Path(name): Path<String>) -> Result<Response, SimError> {
    Ok(match qr::issue(&sim, &name)? {
        QrIssued::Qr(q) => ok(json!({ "qrcode": q })),
        QrIssued::LimitReached => ok(json!({ "limitReached": true })),
    })
}

pub async fn disconnect(
    State(sim): Sm,
    Path(name): Path<String>,
    body: Option<Json<Disconnect>>,
) -> Result<Response, SimError> {
    connection::disconnect(&sim, &name, or_default(body))?;
    Ok(ok(json!({ "ok": true })))
}

pub async fn seed(
    State(sim): Sm,
    Path(name): Path<String>,
    Json(req): Json<Seed>,
) -> Result<Response, SimError> {
    seed::seed(&sim, &name, req).map(ok)
}

pub async fn inject(
    State(sim): Sm,
    Path(name): Path<String>,
    Json(req): Json<Incoming>,
) -> Result<Response, SimError> {
    inbound::inject(&sim, &name, req).map(ok)
}

pub async fn messages(State(sim): Sm, Path(name): Path<String>) -> Result<Response, SimError> {
    stored_messages(&sim, &name).map(ok)
}

pub async fn status(
    State(sim): Sm,
    Path(name): Path<String>,
    Json(req): Json<StatusUpdate>,
) -> Result<Response, SimError> {
    receipts::update_status(&sim, &name, req).map(ok)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revoke {
    key_id: String,
}

pub async fn revoke(
    State(sim): Sm,
    Path(name): Path<String>,
    Json(req): Json<Revoke>,
) -> Result<Response, SimError> {
    receipts::revoke(&sim, &name, &req.key_id).map(ok)
}

#[derive(Deserialize)]
pub struct Number {
    number: String,
    exists: bool,
}

/// Marks a number as (not) on WhatsApp; answers the JID it normalised to.
pub async fn numbers(State(sim): Sm, Json(req): Json<Number>) -> Response {
    let jid = set_on_whatsapp(&sim, &req.number, req.exists);
    ok(json!({ "jid": jid, "exists": req.exists }))
}
