//! `POST /chat/findMessages/{name}` (EVOLUTION.md §3.1), quirks included:
//! `limit` is validated but ignored, `offset` is the page size (default 50),
//! `page` is 1-based, order is newest first, `fromMe:false` filters nothing,
//! `remoteJid` must match exactly, and a timestamp range needs both bounds.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::DateTime;
use serde_json::{Value, json};

use super::schema::{Check, Ty, truthy};
use super::{ApiResult, guard, parse_body, reply};
use crate::error::EvoError;
use crate::sim::Sim;
use crate::state::StoredMessage;

pub use super::lists::{find_chats, find_contacts, whatsapp_numbers};

fn validate(body: &Value) -> Result<(), EvoError> {
    let mut check = Check::default();
    if check.object(body) {
        check.ty(body, "", "where", Ty::Obj, None);
        check.ty(body, "", "limit", Ty::Int, None);
        if let Some(key) = body.get("where").and_then(|w| w.get("key")) {
            let empty = Some("The property cannot be empty");
            for field in ["remoteJid", "id"] {
                check.ty(key, "where.key", field, Ty::Str, empty);
                check.not_empty(key, field, "The property cannot be empty");
            }
            check.ty(key, "where.key", "fromMe", Ty::Bool, None);
        }
    }
    check.finish()
}

/// JS `Math.floor(new Date(x).getTime() / 1000)`: numbers are milliseconds,
/// strings are dates; anything unparseable is the Prisma error Evolution hits.
pub fn js_date_secs(v: &Value) -> Result<i64, EvoError> {
    let invalid = || EvoError::internal("Invalid value for argument `gte`/`lte`: invalid date");
    match v {
        Value::Number(n) => n
            .as_f64()
            .map(|ms| (ms / 1000.0).floor() as i64)
            .ok_or_else(invalid),
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|d| d.timestamp())
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| {
                    d.and_hms_opt(0, 0, 0)
                        .map_or(0, |t| t.and_utc().timestamp())
                })
            })
            .map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

/// `where.messageTimestamp`: a range only when both `gte` and `lte` are present.
pub fn time_range(filter: Option<&Value>) -> Result<Option<(i64, i64)>, EvoError> {
    let Some(f) = filter else { return Ok(None) };
    match (f.get("gte"), f.get("lte")) {
        (Some(gte), Some(lte)) if truthy(Some(gte)) && truthy(Some(lte)) => {
            Ok(Some((js_date_secs(gte)?, js_date_secs(lte)?)))
        }
        _ => Ok(None),
    }
}

/// A page parameter with JS `x || default` semantics; a non-number is the
/// Prisma error a string `skip`/`take` causes.
pub fn page_param(body: &Value, field: &str, default: i64) -> Result<i64, EvoError> {
    match body.get(field) {
        v if !truthy(v) => Ok(default),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 1.0)
            .map(|f| f as i64)
            .ok_or_else(|| {
                EvoError::internal(format!("Invalid `{field}`: expected a positive integer"))
            }),
        _ => Err(EvoError::internal(format!(
            "Invalid `prisma.message.findMany()` invocation: Argument `{field}`: Invalid value provided. Expected Int"
        ))),
    }
}

fn matches(m: &StoredMessage, w: &Value, range: Option<(i64, i64)>) -> bool {
    let key = &w["key"];
    let eq = |field: &str, actual: Option<&str>| {
        key.get(field).is_none_or(|want| want.as_str() == actual)
    };
    let top = |field: &str, actual: &str| {
        w.get(field)
            .is_none_or(|want| want.as_str() == Some(actual))
    };
    eq("id", Some(m.key_id()))
        && eq("remoteJid", Some(m.remote_jid()))
        && eq("participant", m.participant())
        && (!truthy(key.get("fromMe")) || m.from_me())
        && top("id", &m.id)
        && top("source", &m.source)
        && top("messageType", &m.message_type)
        && range.is_none_or(|(lo, hi)| (lo..=hi).contains(&m.timestamp))
}

pub async fn find_messages(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?;
    guard(&sim, &name, &headers)?;
    validate(&body)?;
    let w = body.get("where").cloned().unwrap_or_else(|| json!({}));
    let range = time_range(w.get("messageTimestamp"))?;
    let offset = page_param(&body, "offset", 50)?;
    let page = page_param(&body, "page", 1)?;
    let (instance_id, mut found) = sim
        .with_instance(&name, |i| {
            let found: Vec<StoredMessage> = i
                .messages
                .iter()
                .filter(|m| matches(m, &w, range))
                .cloned()
                .collect();
            (i.id.clone(), found)
        })
        .map_err(|_| EvoError::instance_missing(&name))?;
    found.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then(b.seq.cmp(&a.seq)));
    let total = found.len() as i64;
    let skip = usize::try_from(offset * (page - 1)).unwrap_or(usize::MAX);
    let take = usize::try_from(offset).unwrap_or(usize::MAX);
    let records: Vec<Value> = found
        .iter()
        .skip(skip)
        .take(take)
        .map(|m| m.record_json(&instance_id))
        .collect();
    let pages = (total + offset - 1) / offset;
    let out = json!({ "messages": {
        "total": total, "pages": pages, "currentPage": page, "records": records,
    }});
    Ok(reply(StatusCode::OK, out))
}
