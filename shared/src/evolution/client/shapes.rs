//! The JSON Evolution v2 expects and answers (EVOLUTION.md §2–§4), as plain
//! functions so every shape, quirks included, is tested without a server.
//! A 2xx that does not have the documented shape is
//! [`EvolutionError::Unexpected`]; the message names what was missing and
//! never quotes the body (it may hold message texts and phone numbers).

use serde_json::{Value, json};

use super::super::gateway::{
    Connect, Created, EvolutionError, EvolutionResult, MessagesPage, Qr, RemoteState, WebhookTarget,
};
use super::answer::flatten;
use crate::domain::InstanceName;

fn unexpected<T>(what: &str) -> EvolutionResult<T> {
    Err(EvolutionError::Unexpected(what.to_owned()))
}

/// `POST /instance/create`: the webhook must be the nested block (the flat
/// v1 names are ignored) and must always carry `events` (§2.1 gotcha).
pub(super) fn create_body(name: &InstanceName, webhook: &WebhookTarget) -> Value {
    json!({
        "instanceName": name.as_str(),
        "integration": "WHATSAPP-BAILEYS",
        "qrcode": true,
        "webhook": {
            "url": webhook.url,
            "byEvents": false,
            "base64": false,
            "headers": { "x-webhook-secret": webhook.secret },
            "events": webhook.events,
        },
    })
}

/// `POST /webhook/set/{name}`: nested too, with `enabled` required (§2.8).
pub(super) fn webhook_body(webhook: &WebhookTarget) -> Value {
    json!({
        "webhook": {
            "enabled": true,
            "url": webhook.url,
            "headers": { "x-webhook-secret": webhook.secret },
            "byEvents": false,
            "base64": false,
            "events": webhook.events,
        },
    })
}

/// `findMessages` for one exact JID; `offset` is the page size (§3.1).
pub(super) fn find_messages_body(remote_jid: &str, page: u32, page_size: u32) -> Value {
    json!({ "where": { "key": { "remoteJid": remote_jid } }, "page": page, "offset": page_size })
}

/// The QR object of `create` and `connect`: a QR only once `base64` is there.
fn qr(v: &Value) -> Option<Qr> {
    let base64 = v.get("base64")?.as_str().filter(|b| !b.is_empty())?;
    Some(Qr {
        base64: base64.to_owned(),
        pairing_code: v
            .get("pairingCode")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

pub(super) fn created(body: &Value) -> EvolutionResult<Created> {
    if !body.get("instance").is_some_and(Value::is_object) {
        return unexpected("create answer without `instance`");
    }
    Ok(Created::New {
        qr: body.get("qrcode").and_then(qr),
    })
}

/// The three `connect` shapes, and the 200 `{"error": true}` failure, which
/// is Evolution refusing (its message is often just `[object Object]`).
pub(super) fn connect(body: &Value) -> EvolutionResult<Connect> {
    if body.get("error") == Some(&Value::Bool(true)) {
        let message = body.get("message").map(flatten).unwrap_or_default();
        return Err(EvolutionError::Rejected {
            status: 200,
            message: format!("connect failed: {message}"),
        });
    }
    if let Some(state) = body.pointer("/instance/state") {
        return match state.as_str() {
            Some("open") => Ok(Connect::Open),
            _ => unexpected("connect answered an instance state other than open"),
        };
    }
    if let Some(qr) = qr(body) {
        return Ok(Connect::Qr(qr));
    }
    match body.get("count") {
        Some(Value::Number(_)) => Ok(Connect::NotReady),
        _ => unexpected("connect answer is neither a state, a QR nor a count"),
    }
}

/// `connectionState`: `state` is absent when the instance is in Evolution's
/// database but not in memory, which is a closed socket to us (§2.3).
pub(super) fn remote_state(body: &Value) -> EvolutionResult<RemoteState> {
    let Some(instance) = body.get("instance").filter(|i| i.is_object()) else {
        return unexpected("connectionState answer without `instance`");
    };
    match instance.get("state").and_then(Value::as_str) {
        Some("open") => Ok(RemoteState::Open),
        Some("connecting") => Ok(RemoteState::Connecting),
        // `refused` is documented as webhook-only; should it ever show up
        // here it still means "not connected".
        None | Some("close" | "refused") => Ok(RemoteState::Close),
        Some(_) => unexpected("connectionState answered an unknown state"),
    }
}

pub(super) fn array(body: Value, route: &str) -> EvolutionResult<Vec<Value>> {
    match body {
        Value::Array(items) => Ok(items),
        _ => Err(EvolutionError::Unexpected(format!(
            "{route} answer is not an array"
        ))),
    }
}

pub(super) fn messages_page(body: Value) -> EvolutionResult<MessagesPage> {
    let records = body.pointer("/messages/records").and_then(Value::as_array);
    let total = body.pointer("/messages/total").and_then(Value::as_u64);
    let (Some(records), Some(total)) = (records, total) else {
        return unexpected("findMessages answer without `messages.records` and `messages.total`");
    };
    Ok(MessagesPage {
        records: records.clone(),
        total,
        raw: body,
    })
}

/// `sendText` answers the stored record; its `key.id` is what we keep.
pub(super) fn sent_record(body: Value) -> EvolutionResult<Value> {
    match body.pointer("/key/id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Ok(body),
        _ => unexpected("sendText answer without `key.id`"),
    }
}

#[cfg(test)]
mod tests;
