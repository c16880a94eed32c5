//! `POST /settings/set/{name}` (the six booleans are required) and
//! `GET /settings/find/{name}` (EVOLUTION.md §2.9).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::schema::{Check, Ty};
use super::{ApiResult, guard, parse_body, reply};
use crate::error::EvoError;
use crate::sim::Sim;
use crate::state::Settings;

const REQUIRED: [&str; 6] = [
    "rejectCall",
    "groupsIgnore",
    "alwaysOnline",
    "readMessages",
    "readStatus",
    "syncFullHistory",
];

fn validate(body: &Value) -> Result<(), EvoError> {
    let mut check = Check::default();
    if check.object(body) {
        for field in REQUIRED {
            check.required(body, "", field);
            check.ty(body, "", field, Ty::Bool, None);
        }
        check.ty(body, "", "msgCall", Ty::Str, None);
        check.ty(body, "", "wavoipToken", Ty::Str, None);
    }
    check.finish()
}

fn row(settings: &Settings, instance_id: &str) -> Value {
    let mut row = json!(settings);
    row["instanceId"] = json!(instance_id);
    row
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
    let settings: Settings = serde_json::from_value(body).unwrap_or_default();
    let out = sim
        .with_instance(&name, |i| {
            i.settings = settings;
            row(&i.settings, &i.id)
        })
        .map_err(|_| EvoError::instance_missing(&name))?;
    Ok(reply(StatusCode::CREATED, out))
}

pub async fn find(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    guard(&sim, &name, &headers)?;
    let out = sim
        .with_instance(&name, |i| row(&i.settings, &i.id))
        .map_err(|_| EvoError::instance_missing(&name))?;
    Ok(reply(StatusCode::OK, out))
}
