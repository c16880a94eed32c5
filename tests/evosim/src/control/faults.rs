//! Control routes for logs, replays and fault injection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::error::SimError;
use crate::faults::{DownMode, Fault, Latency};
use crate::handle::set_down_for;
use crate::sim::Sim;
use crate::webhook;

type Sm = State<Arc<Sim>>;
type Filters = Query<HashMap<String, String>>;

fn keep(filter: Option<&String>, value: &str) -> bool {
    filter.is_none_or(|f| f == value)
}

/// `GET /_sim/calls[?endpoint=message/sendText&instance=acme]`.
pub async fn calls(State(sim): Sm, Query(q): Filters) -> Response {
    let calls: Vec<_> = sim.logs.read(|l| {
        l.calls
            .iter()
            .filter(|c| keep(q.get("endpoint"), &c.endpoint))
            .filter(|c| keep(q.get("instance"), c.instance.as_deref().unwrap_or_default()))
            .cloned()
            .collect()
    });
    Json(calls).into_response()
}

pub async fn clear_calls(State(sim): Sm) -> Response {
    sim.logs.update(|l| l.calls.clear());
    Json(json!({ "ok": true })).into_response()
}

/// `GET /_sim/webhooks[?event=messages.upsert&instance=acme]`.
pub async fn webhooks(State(sim): Sm, Query(q): Filters) -> Response {
    let deliveries: Vec<_> = sim.logs.read(|l| {
        l.deliveries
            .iter()
            .filter(|d| keep(q.get("event"), &d.event))
            .filter(|d| keep(q.get("instance"), &d.instance))
            .cloned()
            .collect()
    });
    Json(deliveries).into_response()
}

pub async fn clear_webhooks(State(sim): Sm) -> Response {
    sim.logs.update(|l| l.deliveries.clear());
    Json(json!({ "ok": true })).into_response()
}

pub async fn replay(State(sim): Sm, Path(id): Path<u64>) -> Result<Response, SimError> {
    let new_id = webhook::replay(&sim, id)?;
    Ok(Json(json!({ "id": new_id, "replayOf": id })).into_response())
}

pub async fn add_fault(State(sim): Sm, Json(fault): Json<Fault>) -> Response {
    sim.faults().rules.push(fault);
    Json(json!({ "ok": true })).into_response()
}

pub async fn add_latency(State(sim): Sm, Json(latency): Json<Latency>) -> Response {
    sim.faults().latency.push(latency);
    Json(json!({ "ok": true })).into_response()
}

/// Clears fault rules and added latency.
pub async fn clear_faults(State(sim): Sm) -> Response {
    let mut faults = sim.faults();
    faults.rules.clear();
    faults.latency.clear();
    Json(json!({ "ok": true })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Down {
    #[serde(default = "unavailable")]
    mode: DownMode,
    /// Come back up by itself after this long (required for `refuse`, which
    /// also takes the control API down).
    for_ms: Option<u64>,
}

fn unavailable() -> DownMode {
    DownMode::Unavailable
}

pub async fn down(State(sim): Sm, Json(req): Json<Down>) -> Result<Response, SimError> {
    if req.mode == DownMode::Refuse && req.for_ms.is_none() {
        return Err(SimError::Invalid(
            "mode \"refuse\" closes this port too: give forMs so it can come back".into(),
        ));
    }
    set_down_for(&sim, req.mode, req.for_ms.map(Duration::from_millis));
    Ok(Json(json!({ "mode": req.mode, "forMs": req.for_ms })).into_response())
}

pub async fn up(State(sim): Sm) -> Response {
    set_down_for(&sim, DownMode::Up, None);
    Json(json!({ "mode": DownMode::Up })).into_response()
}
