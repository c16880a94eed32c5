//! `POST /webhook/set/{name}` and `GET /webhook/find/{name}` (EVOLUTION.md
//! §2.8). The body is the nested `{webhook:{…}}`; `enabled:true` without
//! `events` is the 500 TypeError; fields left out of an update keep their old
//! values (Prisma ignores `undefined`), except `events`, which is always set.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use serde_json::{Value, json};

use super::schema::{Check, Ty};
use super::{ApiResult, guard, parse_body, reply};
use crate::error::EvoError;
use crate::events::{ALL_EVENTS, expand};
use crate::sim::Sim;
use crate::state::{WebhookConfig, db_id};

fn validate(body: &Value) -> Result<(), EvoError> {
    let mut check = Check::default();
    if check.object(body) {
        check.required(body, "", "webhook");
        check.ty(body, "", "webhook", Ty::Obj, None);
        if let Some(hook) = body.get("webhook").filter(|h| h.is_object()) {
            check.required(hook, "webhook", "enabled");
            check.required(hook, "webhook", "url");
            check.ty(hook, "webhook", "enabled", Ty::Bool, None);
            check.ty(hook, "webhook", "url", Ty::Str, None);
            check.not_empty(hook, "url", "The \"url\" cannot be empty");
            check.ty(hook, "webhook", "headers", Ty::Obj, None);
            check.ty(hook, "webhook", "byEvents", Ty::Bool, None);
            check.ty(hook, "webhook", "base64", Ty::Bool, None);
            check.ty(hook, "webhook", "events", Ty::Arr, None);
            check.items_in(hook, "webhook", "events", ALL_EVENTS);
        }
    }
    check.finish()
}

pub async fn set(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?;
    guard(&sim, &name, &headers)?;
    validate(&body)?;
    let hook = &body["webhook"];
    let enabled = hook["enabled"].as_bool().unwrap_or(false);
    let events: Vec<String> = if !enabled {
        Vec::new()
    } else {
        let Some(list) = hook.get("events").and_then(Value::as_array) else {
            return Err(EvoError::internal(
                "Cannot read properties of undefined (reading 'length')",
            ));
        };
        expand(
            list.iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect(),
        )
    };
    let url = hook["url"].as_str().unwrap_or_default().to_owned();
    let new_headers = hook.get("headers").and_then(Value::as_object).cloned();
    let by_events = hook.get("byEvents").and_then(Value::as_bool);
    let base64 = hook.get("base64").and_then(Value::as_bool);
    let row = sim
        .with_instance(&name, |inst| {
            let now = Utc::now();
            let row = inst.webhook.get_or_insert_with(|| WebhookConfig {
                id: db_id(),
                enabled,
                url: url.clone(),
                headers: None,
                events: Vec::new(),
                by_events: false,
                base64: false,
                created_at: now,
                updated_at: now,
            });
            row.enabled = enabled;
            row.url = url;
            row.events = events;
            if new_headers.is_some() {
                row.headers = new_headers;
            }
            row.by_events = by_events.unwrap_or(row.by_events);
            row.base64 = base64.unwrap_or(row.base64);
            row.updated_at = now;
            row.to_json(&inst.id)
        })
        .map_err(|_| EvoError::instance_missing(&name))?;
    Ok(reply(StatusCode::CREATED, row))
}

/// The stored row, or `null`.
pub async fn find(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    guard(&sim, &name, &headers)?;
    let row = sim
        .with_instance(&name, |i| i.webhook.as_ref().map(|w| w.to_json(&i.id)))
        .map_err(|_| EvoError::instance_missing(&name))?;
    Ok(reply(StatusCode::OK, json!(row)))
}
