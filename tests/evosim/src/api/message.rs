//! Sending (EVOLUTION.md §4): `sendText` and a JSON-only `sendMedia`. Checks
//! run in Evolution's order — schema, empty text, connection ("Connection
//! Closed" 500 when not `open`), `onWhatsApp` (400 `exists:false`) — then the
//! request blocks for `delay`, the message is stored with status `PENDING`,
//! answered with 201 and emitted as `send.message` (never `messages.upsert`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use serde_json::{Value, json};

use super::lists::on_whatsapp;
use super::schema::{Check, Ty};
use super::{ApiResult, guard, parse_body, reply};
use crate::error::EvoError;
use crate::events::name as ev;
use crate::jid::{create_jid, is_group};
use crate::ops::content::{self, Body, Kind};
use crate::ops::receipts::{StatusUpdate, update_status};
use crate::ops::store_ops::{NewMessage, store_message};
use crate::sim::Sim;
use crate::state::ConnState;
use crate::webhook::{emit, wait_done};

fn common_checks(check: &mut Check, body: &Value) {
    check.ty(body, "", "number", Ty::Str, Some("Invalid format"));
    check.ty(
        body,
        "",
        "delay",
        Ty::Int,
        Some("Enter a value in milliseconds"),
    );
    check.ty(body, "", "mentionsEveryOne", Ty::Bool, None);
}

/// Connection and `onWhatsApp` checks; returns the JID to send to.
fn resolve(sim: &Sim, instance: &str, number: &str) -> Result<String, EvoError> {
    let open = sim
        .with_instance(instance, |i| i.state == ConnState::Open)
        .unwrap_or(false);
    if !open {
        return Err(EvoError::internal("Connection Closed"));
    }
    let jid = create_jid(number).to_lowercase();
    if !on_whatsapp(sim, &jid) {
        return Err(EvoError::bad_request_value(
            json!({ "jid": jid, "exists": false, "number": number }),
        ));
    }
    Ok(jid)
}

/// Blocks for `delay`, stores, emits `send.message`, answers 201.
async fn send(
    sim: &Arc<Sim>,
    instance: &str,
    jid: String,
    body: &Value,
    kind: Kind,
    message: Value,
) -> ApiResult {
    let delay = body.get("delay").and_then(Value::as_u64).unwrap_or(0);
    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    let id = format!(
        "3EB0{}",
        &uuid::Uuid::new_v4().simple().to_string().to_uppercase()[..18]
    );
    let context_info = if is_group(&jid) {
        Value::Null
    } else {
        json!({
            "mentionedJid": [], "groupMentions": [],
            "ephemeralSettingTimestamp": { "low": 0, "high": 0, "unsigned": false },
            "disappearingMode": { "initiator": 0 },
        })
    };
    let message_type = message
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .unwrap_or_else(|| "conversation".into());
    let stored = store_message(
        sim,
        instance,
        NewMessage {
            key: json!({ "remoteJid": jid, "fromMe": true, "id": id }),
            push_name: "Você".into(),
            message_type: if kind == Kind::Text {
                "conversation".into()
            } else {
                message_type
            },
            message,
            context_info,
            timestamp: Utc::now().timestamp(),
            status: "PENDING".into(),
        },
    )
    .map_err(|_| EvoError::instance_missing(instance))?;
    let ids = emit(sim, instance, ev::SEND_MESSAGE, stored.clone());
    if sim.config.auto_receipts {
        let (sim2, instance) = (Arc::clone(sim), instance.to_owned());
        sim.spawn(async move {
            wait_done(&sim2, &ids).await;
            for status in ["SERVER_ACK", "DELIVERY_ACK"] {
                let req = StatusUpdate {
                    key_id: id.clone(),
                    status: status.into(),
                    participant: None,
                };
                if let Ok(sent) = update_status(&sim2, &instance, req) {
                    wait_done(&sim2, &sent.deliveries).await;
                }
            }
        });
    }
    Ok(reply(StatusCode::CREATED, stored))
}

pub async fn send_text(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?;
    guard(&sim, &name, &headers)?;
    let mut check = Check::default();
    if check.object(&body) {
        check.required(&body, "", "number");
        check.required(&body, "", "text");
        common_checks(&mut check, &body);
        check.ty(&body, "", "text", Ty::Str, None);
        check.ty(&body, "", "linkPreview", Ty::Bool, None);
    }
    check.finish()?;
    let text = body["text"].as_str().unwrap_or_default();
    if text.trim().is_empty() {
        return Err(EvoError::bad_request("Text is required"));
    }
    let jid = resolve(&sim, &name, body["number"].as_str().unwrap_or_default())?;
    let message = json!({ "conversation": text });
    send(&sim, &name, jid, &body, Kind::Text, message).await
}

fn is_url_or_base64(media: &str) -> bool {
    let url = media.starts_with("http://") || media.starts_with("https://");
    let b64 = !media.is_empty()
        && media.len().is_multiple_of(4)
        && media
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    url || b64
}

pub async fn send_media(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?;
    guard(&sim, &name, &headers)?;
    let mut check = Check::default();
    if check.object(&body) {
        check.required(&body, "", "number");
        check.required(&body, "", "mediatype");
        common_checks(&mut check, &body);
        check.one_of(
            &body,
            "",
            "mediatype",
            &["image", "document", "video", "audio"],
        );
    }
    check.finish()?;
    let media = body
        .get("media")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !is_url_or_base64(media) {
        return Err(EvoError::bad_request("Owned media must be a url or base64"));
    }
    let is_url = media.starts_with("http");
    let kind = match body["mediatype"].as_str() {
        Some("image") => Kind::Image,
        Some("video") => Kind::Video,
        Some("audio") => Kind::Audio,
        _ => Kind::Document,
    };
    let file_name = body.get("fileName").and_then(Value::as_str);
    if kind == Kind::Document && !is_url && file_name.is_none() {
        return Err(EvoError::bad_request(
            "For base64 the file name must be informed.",
        ));
    }
    let jid = resolve(&sim, &name, body["number"].as_str().unwrap_or_default())?;
    let mimetype = if kind == Kind::Image {
        Some("image/jpeg")
    } else {
        body.get("mimetype").and_then(Value::as_str)
    };
    let (_, mut message) = content::build(&Body {
        kind,
        text: body.get("caption").and_then(Value::as_str),
        file_name,
        mimetype,
        reaction_key: None,
    });
    content::prune_nulls(&mut message);
    send(&sim, &name, jid, &body, kind, message).await
}
