//! `POST /instance/create` (EVOLUTION.md §2.1): name-in-use (403) is checked
//! before the key, only the global key works, `integration` is required, the
//! nested `webhook` block is stored unvalidated (but a missing `events` kills
//! the creation with the TypeError message), and `qrcode: true` blocks for
//! `create_wait` so the answer can carry a QR — or just `{"count":0}`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::schema::{Check, Ty};
use super::{ApiResult, api_key, parse_body, reply};
use crate::error::EvoError;
use crate::events::{expand, name as ev};
use crate::ops::qr::start_socket;
use crate::sim::Sim;
use crate::state::{ConnState, Instance, QrState, Settings, WebhookConfig, db_id};
use crate::webhook::emit;

const INTEGRATIONS: [&str; 3] = ["WHATSAPP-BAILEYS", "WHATSAPP-BUSINESS", "EVOLUTION"];
const TYPE_ERROR: &str = "Cannot read properties of undefined (reading 'length')";

fn validate(body: &Value) -> Result<(), EvoError> {
    let mut check = Check::default();
    if check.object(body) {
        check.ty(body, "", "instanceName", Ty::Str, None);
        check.not_empty(body, "instanceName", "The \"instanceName\" cannot be empty");
        check.ty(body, "", "token", Ty::Str, None);
        check.ty(body, "", "qrcode", Ty::Bool, None);
        check.ty(body, "", "number", Ty::Str, None);
        for flag in [
            "rejectCall",
            "groupsIgnore",
            "alwaysOnline",
            "readMessages",
            "readStatus",
            "syncFullHistory",
        ] {
            check.ty(body, "", flag, Ty::Bool, None);
        }
    }
    check.finish()
}

/// The row `WH.set` creates from the create body (`enabled` forced true).
fn webhook_row(hook: &Map<String, Value>) -> Result<WebhookConfig, EvoError> {
    let events = match hook.get("events") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|e| e.as_str().map(str::to_owned))
            .collect(),
        None | Some(Value::Null) => return Err(EvoError::bad_request(TYPE_ERROR)),
        Some(_) => Vec::new(),
    };
    let now = Utc::now();
    Ok(WebhookConfig {
        id: db_id(),
        enabled: true,
        url: hook
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        headers: hook.get("headers").and_then(Value::as_object).cloned(),
        events: expand(events),
        by_events: hook
            .get("byEvents")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        base64: hook.get("base64").and_then(Value::as_bool).unwrap_or(false),
        created_at: now,
        updated_at: now,
    })
}

fn settings_from(body: &Value) -> Settings {
    serde_json::from_value(body.clone()).unwrap_or_default()
}

pub async fn create(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let name = body
        .get("instanceName")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(n) = &name
        && sim.store().instances.contains_key(n)
    {
        return Err(EvoError::forbidden(format!(
            "This name \"{n}\" is already in use."
        )));
    }
    if api_key(&headers) != Some(sim.config.api_key.as_str()) {
        return Err(EvoError::unauthorized());
    }
    validate(&body)?;
    let integration = body
        .get("integration")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !INTEGRATIONS.contains(&integration) {
        return Err(EvoError::bad_request("Invalid integration"));
    }
    let Some(name) = name else {
        return Err(EvoError::schema(vec![
            "The \"instanceName\" cannot be empty".into(),
        ]));
    };
    let hook_in = body.get("webhook").and_then(Value::as_object);
    let webhook = hook_in.map(webhook_row).transpose()?;
    let now = Utc::now();
    let token = body
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map_or_else(
            || uuid::Uuid::new_v4().to_string().to_uppercase(),
            str::to_owned,
        );
    let settings = settings_from(&body);
    let id = uuid::Uuid::new_v4().to_string();
    {
        let mut store = sim.store();
        store.created += 1;
        let default_wuid = format!("55119{:08}", 80_000_000 + store.created);
        store.instances.insert(
            name.clone(),
            Instance {
                id: id.clone(),
                name: name.clone(),
                token: token.clone(),
                integration: integration.to_owned(),
                state: ConnState::Close,
                qr: QrState::default(),
                pairing_number: body
                    .get("number")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                owner: None,
                default_wuid,
                webhook,
                settings: settings.clone(),
                contacts: Vec::new(),
                chats: Vec::new(),
                messages: Vec::new(),
                seen_keys: HashMap::new(),
                seen_receipts: HashMap::new(),
                session: 0,
                disconnection_code: None,
                disconnection_at: None,
                created_at: now,
                updated_at: now,
            },
        );
    }
    emit(
        &sim,
        &name,
        ev::INSTANCE_CREATE,
        json!({ "instanceName": name, "instanceId": id }),
    );
    let wants_qr = body.get("qrcode").and_then(Value::as_bool) == Some(true)
        && integration == "WHATSAPP-BAILEYS";
    if wants_qr {
        start_socket(&sim, &name).map_err(|e| EvoError::bad_request(e.to_string()))?;
        tokio::time::sleep(sim.config.create_wait).await;
    }
    let (state, qr) = sim
        .with_instance(&name, |i| (i.state, i.qr.to_json()))
        .map_err(|e| EvoError::bad_request(e.to_string()))?;
    let mut out = json!({
        "instance": {
            "instanceName": name,
            "instanceId": id,
            "integration": integration,
            "webhookWaBusiness": null,
            "accessTokenWaBusiness": "",
            "status": state.as_str(),
        },
        "hash": token,
        "webhook": echo_webhook(hook_in),
        "websocket": {}, "rabbitmq": {}, "nats": {}, "sqs": {},
        "settings": settings,
    });
    if wants_qr {
        out["qrcode"] = qr;
    }
    Ok(reply(StatusCode::CREATED, out))
}

/// The response's `webhook` block echoes the request (absent fields dropped).
fn echo_webhook(hook: Option<&Map<String, Value>>) -> Value {
    let mut out = Map::new();
    if let Some(h) = hook {
        for (from, to) in [
            ("url", "webhookUrl"),
            ("headers", "webhookHeaders"),
            ("byEvents", "webhookByEvents"),
            ("base64", "webhookBase64"),
        ] {
            if let Some(v) = h.get(from) {
                out.insert(to.to_owned(), v.clone());
            }
        }
    }
    Value::Object(out)
}
