//! `findChats` (a plain array built from the messages, `take`/`skip`),
//! `findContacts` (`offset`/`page`, no order) and `whatsappNumbers`
//! (EVOLUTION.md §3.2, §3.3, §3.6).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::chat::time_range;
use super::schema::{Check, Ty};
use super::{ApiResult, guard, parse_body, reply};
use crate::error::EvoError;
use crate::jid::{create_jid, is_broadcast, is_group, is_lid};
use crate::sim::Sim;
use crate::state::{ConnState, Instance, StoredMessage, iso, iso_from_secs};

/// `where.remoteJid`: digits go through `createJid`, JIDs are used as is.
fn jid_filter(w: &Value) -> Option<String> {
    let raw = w.get("remoteJid")?.as_str()?;
    Some(if raw.contains('@') {
        raw.to_owned()
    } else {
        create_jid(raw)
    })
}

fn usize_param(body: &Value, field: &str) -> Option<usize> {
    body.get(field)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
}

fn chat_json(inst: &Instance, last: &StoredMessage) -> Value {
    let jid = last.remote_jid();
    let contact = inst.contact(jid);
    let chat = inst.chats.iter().find(|c| c.remote_jid == jid);
    let push_name = contact
        .and_then(|c| c.push_name.clone())
        .or_else(|| chat.and_then(|c| c.name.clone()))
        .unwrap_or_else(|| last.push_name.clone());
    let window_start = chat.map_or_else(Utc::now, |c| c.created_at);
    let window_expires = window_start + Duration::hours(24);
    json!({
        "id": contact.map(|c| c.id.clone()),
        "remoteJid": jid,
        "pushName": push_name,
        "profilePicUrl": contact.and_then(|c| c.profile_pic_url.clone()),
        "updatedAt": iso_from_secs(last.timestamp),
        "windowStart": iso(window_start),
        "windowExpires": iso(window_expires),
        "windowActive": Utc::now() < window_expires,
        "lastMessage": last.last_message_json(&inst.id),
        "unreadCount": chat.map_or(0, |c| c.unread),
        "isSaved": contact.is_some(),
    })
}

pub async fn find_chats(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?;
    guard(&sim, &name, &headers)?;
    let w = body.get("where").cloned().unwrap_or_else(|| json!({}));
    let range = time_range(w.get("messageTimestamp"))?;
    let wanted = jid_filter(&w);
    let (skip, take) = (
        usize_param(&body, "skip").unwrap_or(0),
        usize_param(&body, "take"),
    );
    let chats = sim
        .with_instance(&name, |inst| {
            let mut last: BTreeMap<&str, &StoredMessage> = BTreeMap::new();
            for m in &inst.messages {
                let newer = last
                    .get(m.remote_jid())
                    .is_none_or(|cur| (m.timestamp, m.seq) > (cur.timestamp, cur.seq));
                if newer {
                    last.insert(m.remote_jid(), m);
                }
            }
            let mut rows: Vec<&StoredMessage> = last
                .into_values()
                .filter(|m| wanted.as_deref().is_none_or(|j| m.remote_jid() == j))
                .filter(|m| range.is_none_or(|(lo, hi)| (lo..=hi).contains(&m.timestamp)))
                .collect();
            rows.sort_by_key(|m| std::cmp::Reverse((m.timestamp, m.seq)));
            rows.into_iter()
                .skip(skip)
                .take(take.unwrap_or(usize::MAX))
                .map(|m| chat_json(inst, m))
                .collect::<Vec<Value>>()
        })
        .map_err(|_| EvoError::instance_missing(&name))?;
    Ok(reply(StatusCode::OK, Value::Array(chats)))
}

pub async fn find_contacts(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?;
    guard(&sim, &name, &headers)?;
    let w = body.get("where").cloned().unwrap_or_else(|| json!({}));
    let wanted = jid_filter(&w);
    let offset = usize_param(&body, "offset").filter(|n| *n > 0);
    let page = usize_param(&body, "page").map(|p| p.max(1));
    let skip = match (offset, page) {
        (Some(o), Some(p)) => o * (p - 1),
        _ => 0,
    };
    let contacts = sim
        .with_instance(&name, |inst| {
            inst.contacts
                .iter()
                .filter(|c| wanted.as_deref().is_none_or(|j| c.remote_jid == j))
                .skip(skip)
                .take(offset.unwrap_or(usize::MAX))
                .map(|c| c.to_json(&inst.id))
                .collect::<Vec<Value>>()
        })
        .map_err(|_| EvoError::instance_missing(&name))?;
    Ok(reply(StatusCode::OK, Value::Array(contacts)))
}

/// Is `jid` on WhatsApp according to the simulated registry?
pub fn on_whatsapp(sim: &Sim, jid: &str) -> bool {
    is_lid(jid) || is_group(jid) || is_broadcast(jid) || !sim.store().not_on_whatsapp.contains(jid)
}

pub async fn whatsapp_numbers(
    State(sim): State<Arc<Sim>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = parse_body(&body)?;
    guard(&sim, &name, &headers)?;
    let mut check = Check::default();
    if check.object(&body) {
        check.ty(&body, "", "numbers", Ty::Arr, None);
    }
    check.finish()?;
    let open = sim
        .with_instance(&name, |i| i.state == ConnState::Open)
        .unwrap_or(false);
    if !open {
        return Err(EvoError::internal("Connection Closed"));
    }
    let numbers = body
        .get("numbers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let out: Vec<Value> = numbers
        .iter()
        .filter_map(Value::as_str)
        .map(|n| {
            let jid = create_jid(n);
            let exists = on_whatsapp(&sim, &jid);
            let contact_name = sim
                .with_instance(&name, |i| i.contact(&jid).and_then(|c| c.push_name.clone()))
                .ok()
                .flatten();
            let mut row = json!({ "jid": jid, "exists": exists, "number": n });
            if let Some(c) = contact_name {
                row["name"] = json!(c);
            }
            row
        })
        .collect();
    Ok(reply(StatusCode::OK, Value::Array(out)))
}
