//! Instance lifecycle routes besides create (EVOLUTION.md §2.2–§2.7).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{ApiResult, api_key, guard, reply};
use crate::error::EvoError;
use crate::ops::connection::{Disconnect, disconnect, end_session, remove as remove_instance};
use crate::ops::qr::start_socket;
use crate::sim::Sim;
use crate::state::{ConnState, Instance, iso};

/// The 200 failure shape of `connect`/`restart` (`error.toString()` of a plain object).
fn object_object() -> Value {
    json!({ "error": true, "message": "[object Object]" })
}

fn qr_of(sim: &Sim, name: &str) -> Value {
    sim.with_instance(name, |i| i.qr.to_json())
        .unwrap_or_else(|_| object_object())
}

/// `GET /instance/connect/{name}[?number=]`: `open` → state, `connecting` →
/// current QR object, `close` → start a socket, wait, QR object.
pub async fn connect(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    guard(&sim, &name, &headers)?;
    let state = sim
        .with_instance(&name, |i| {
            if let Some(n) = query.get("number").filter(|n| !n.is_empty()) {
                i.pairing_number = Some(n.clone());
            }
            i.state
        })
        .map_err(|_| EvoError::instance_missing(&name))?;
    let body = match state {
        ConnState::Open => json!({ "instance": { "instanceName": name, "state": "open" } }),
        ConnState::Connecting => qr_of(&sim, &name),
        ConnState::Close => {
            if start_socket(&sim, &name).is_err() {
                return Ok(reply(StatusCode::OK, object_object()));
            }
            tokio::time::sleep(sim.config.connect_wait).await;
            qr_of(&sim, &name)
        }
    };
    Ok(reply(StatusCode::OK, body))
}

/// `GET /instance/connectionState/{name}`.
pub async fn state(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    guard(&sim, &name, &headers)?;
    let state = sim
        .with_instance(&name, |i| i.state.as_str())
        .map_err(|_| EvoError::instance_missing(&name))?;
    Ok(reply(
        StatusCode::OK,
        json!({ "instance": { "instanceName": name, "state": state } }),
    ))
}

/// `POST /instance/restart/{name}`: `close` fails with the 200 error shape;
/// otherwise the socket restarts (a logged-in session silently comes back
/// `open`) and the QR object is returned, as `connectToWhatsapp` does.
pub async fn restart(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    guard(&sim, &name, &headers)?;
    let state = sim
        .with_instance(&name, |i| i.state)
        .map_err(|_| EvoError::instance_missing(&name))?;
    let restarted = match state {
        ConnState::Close => return Ok(reply(StatusCode::OK, object_object())),
        ConnState::Open => disconnect(
            &sim,
            &name,
            Disconnect {
                status_reason: 515,
                reconnect: true,
            },
        ),
        ConnState::Connecting => start_socket(&sim, &name),
    };
    if restarted.is_err() {
        return Ok(reply(StatusCode::OK, object_object()));
    }
    tokio::time::sleep(sim.config.connect_wait).await;
    Ok(reply(StatusCode::OK, qr_of(&sim, &name)))
}

fn success(message: &str) -> Value {
    json!({ "status": "SUCCESS", "error": false, "response": { "message": message } })
}

/// `DELETE /instance/logout/{name}`: 400 when `close`, else SUCCESS at once.
pub async fn logout(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    guard(&sim, &name, &headers)?;
    let state = sim
        .with_instance(&name, |i| i.state)
        .map_err(|_| EvoError::instance_missing(&name))?;
    if state == ConnState::Close {
        return Err(EvoError::bad_request(format!(
            "The \"{name}\" instance is not connected"
        )));
    }
    let _ = end_session(&sim, &name, 401, "Intentional Logout");
    Ok(reply(StatusCode::OK, success("Instance logged out")))
}

/// `DELETE /instance/delete/{name}`.
pub async fn remove(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    guard(&sim, &name, &headers)?;
    remove_instance(&sim, &name).map_err(|_| EvoError::instance_missing(&name))?;
    Ok(reply(StatusCode::OK, success("Instance deleted")))
}

/// One `fetchInstances` row (Prisma `Instance` with relations and counts).
fn row(i: &Instance) -> Value {
    json!({
        "id": i.id, "name": i.name, "connectionStatus": i.state.as_str(),
        "ownerJid": i.owner.as_ref().map(|o| &o.wuid),
        "profileName": i.owner.as_ref().and_then(|o| o.profile_name.as_ref()),
        "profilePicUrl": i.owner.as_ref().and_then(|o| o.profile_picture_url.as_ref()),
        "integration": i.integration, "number": i.pairing_number, "businessId": null,
        "token": i.token, "clientName": "evolution",
        "disconnectionReasonCode": i.disconnection_code, "disconnectionObject": null,
        "disconnectionAt": i.disconnection_at.map(iso),
        "createdAt": iso(i.created_at), "updatedAt": iso(i.updated_at),
        "Chatwoot": null, "Proxy": null, "Rabbitmq": null, "Nats": null, "Sqs": null, "Websocket": null,
        "Setting": i.settings,
        "_count": { "Message": i.messages.len(), "Contact": i.contacts.len(), "Chat": i.chats.len() },
    })
}

/// `GET /instance/fetchInstances[?instanceName=|instanceId=]`: all rows for the
/// global key, only the caller's rows for an instance token.
pub async fn fetch(
    State(sim): State<Arc<Sim>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    let key = api_key(&headers).ok_or_else(EvoError::unauthorized)?;
    let global = key == sim.config.api_key;
    let store = sim.store();
    if !global && !store.instances.values().any(|i| i.token == key) {
        return Err(EvoError::unauthorized());
    }
    if let Some(n) = query.get("instanceName")
        && !store.instances.contains_key(n)
    {
        return Err(EvoError::not_found(format!("Instance \"{n}\" not found")));
    }
    let rows: Vec<Value> = store
        .instances
        .values()
        .filter(|i| global || i.token == key)
        .filter(|i| query.get("instanceName").is_none_or(|n| *n == i.name))
        .filter(|i| query.get("instanceId").is_none_or(|n| *n == i.id))
        .map(row)
        .collect();
    Ok(reply(StatusCode::OK, Value::Array(rows)))
}
